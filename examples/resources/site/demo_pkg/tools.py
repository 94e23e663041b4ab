"""A submodule, listed by pkgutil.iter_modules."""
