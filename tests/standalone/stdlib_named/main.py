"""An application whose own `test` package shadows CPython's (excluded by default) test package."""

import importlib.resources

import test.leakers

print(test.leakers.WHOSE)
print(importlib.resources.files("test.leakers").joinpath("README.txt").read_text().strip())
print("README.txt" in [p.name for p in importlib.resources.files("test.leakers").iterdir()])
