"""A subpackage with its own data file."""
