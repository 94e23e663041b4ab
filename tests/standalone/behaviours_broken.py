"""Imported by behaviours.py "import-error": fails while its body runs."""

raise RuntimeError("broken at import")
