"""Reads package data (importlib.resources) and distribution metadata (importlib.metadata)."""

import importlib.metadata
import importlib.resources
import pkgutil
import sys

import demo_pkg


def main() -> int:
    print("greeting:", demo_pkg.greeting())
    print("version:", demo_pkg.version())
    entry_points = importlib.metadata.entry_points(group="console_scripts", name="demo")
    print("entry point:", [ep.value for ep in entry_points])
    print("submodules:", [m.name for m in pkgutil.iter_modules(demo_pkg.__path__)])
    print("data files:", sorted(p.name for p in importlib.resources.files("demo_pkg").joinpath("data").iterdir()))
    print("file under the binary:", demo_pkg.__file__.startswith(sys.executable + "/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
