"""A package whose only data file (large.bin, made by the build) is large: the files-by-path
view copies it into a memory file when it is opened (behaviours.py, peak-after-open)."""
