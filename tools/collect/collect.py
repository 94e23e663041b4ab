"""The module set of a standalone binary: which file becomes which module or resource.

Python's import system maps files to names through `sys.path`; a standalone binary has no
`sys.path` at run time, so the names are fixed at build time. This module does that mapping
for the standard library (a directory tree) and for application files (runfiles paths with
import roots, in `sys.path` order). It needs only the standard library and runs on any Python.

    collect.py --stdlib DIR                                # print the stdlib module set
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import keyword
import os
import sys
from typing import Iterable

# Directories of a `make install` tree that hold no importable stdlib modules.
STDLIB_SKIP_DIRS = ("__pycache__", "site-packages", "lib-dynload")
STDLIB_SKIP_PREFIXES = ("config-",)


class CollectError(Exception):
    """Bad input; the message names the file(s) and how to fix it."""


@dataclasses.dataclass(frozen=True)
class ModuleFile:
    name: str            # dotted module name
    path: str | None     # file to read (None for namespace packages)
    is_package: bool
    origin: str          # what the report and co_filename call it
    # Extension modules (shared objects): the libraries to load before it, by their names in
    # the libraries table, in order. None for Python modules.
    libraries: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class ResourceFile:
    name: str            # "<package>/<relative path>"
    path: str
    origin: str


@dataclasses.dataclass
class ModuleSet:
    modules: list[ModuleFile] = dataclasses.field(default_factory=list)
    resources: list[ResourceFile] = dataclasses.field(default_factory=list)
    metadata: list[ResourceFile] = dataclasses.field(default_factory=list)
    unowned: list[str] = dataclasses.field(default_factory=list)  # data files outside any package


def is_module_name(parts: Iterable[str]) -> bool:
    parts = list(parts)
    return bool(parts) and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)


def _module_for(relpath: str) -> tuple[str, bool] | None:
    """`a/b.py` -> ("a.b", False); `a/__init__.py` -> ("a", True); None if not importable."""
    if not relpath.endswith(".py"):
        return None
    parts = relpath[:-3].split("/")
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
        if not is_module_name(parts):
            return None
    # Directories must be importable by an import statement; a module file only needs a name
    # __import__() accepts: the stdlib itself imports _sysconfigdata__linux_x86_64-linux-gnu.
    elif not parts[-1] or "." in parts[-1] or not (parts[:-1] == [] or is_module_name(parts[:-1])):
        return None
    return ".".join(parts), is_package


def map_files(files: Iterable[tuple[str, str, str]], roots: Iterable[str]) -> ModuleSet:
    """Maps files to modules and package resources under the import roots.

    files: (relpath, path_to_read, origin) triples, relpath being the file's runfiles path
      ("repo/dir/file.py"). roots: runfiles paths of import roots, in `sys.path` order. A file
      under several roots gets every name, like Python would give it. Directories without
      `__init__.py` are namespace packages. A data file belongs to the deepest package directory
      that contains it (regular packages first); `*.dist-info/` files become metadata.
    """
    files = sorted(set(files))
    roots = [r.strip("/") for r in roots]
    result = ModuleSet()
    claimed: dict[str, ModuleFile] = {}
    regular_packages: set[tuple[str, str]] = set()   # (root, package relpath)
    namespace_dirs: set[tuple[str, str]] = set()
    data_files = []
    for relpath, path, origin in files:
        for root in roots:
            prefix = root + "/" if root else ""
            if not relpath.startswith(prefix):
                continue
            rel = relpath[len(prefix):]
            mapped = _module_for(rel)
            if mapped is None:
                if not rel.endswith((".py", ".pyc")):
                    data_files.append((root, rel, path, origin))
                continue
            name, is_package = mapped
            _claim(claimed, ModuleFile(name, path, is_package, origin))
            parent_parts = rel.split("/")[:-1]
            if is_package:
                regular_packages.add((root, "/".join(parent_parts)))
                parent_parts = parent_parts[:-1]
            for i in range(1, len(parent_parts) + 1):
                namespace_dirs.add((root, "/".join(parent_parts[:i])))
    for root, directory in sorted(namespace_dirs - regular_packages):
        name = directory.replace("/", ".")
        if name not in claimed:
            claimed[name] = ModuleFile(name, None, True, f"namespace package {root}/{directory}")
    result.modules = sorted(claimed.values(), key=lambda m: m.name)

    resources: dict[str, ResourceFile] = {}
    metadata: dict[str, ResourceFile] = {}
    for root, rel, path, origin in data_files:
        parts = rel.split("/")
        dist_info = next((i for i, p in enumerate(parts[:-1]) if p.endswith(".dist-info")), None)
        if dist_info == 0:
            _claim_data(metadata, ResourceFile("/".join(parts), path, origin), "metadata")
            continue
        owner = None
        for i in range(len(parts) - 1, 0, -1):
            directory = "/".join(parts[:i])
            if (root, directory) in regular_packages or (root, directory) in namespace_dirs:
                owner = i
                if (root, directory) in regular_packages:
                    break
        if owner is None:
            continue  # not under a package of this root; another root may own it
        name = ".".join(parts[:owner]) + "/" + "/".join(parts[owner:])
        _claim_data(resources, ResourceFile(name, path, origin), "resource")
    result.resources = sorted(resources.values(), key=lambda r: r.name)
    result.metadata = sorted(metadata.values(), key=lambda r: r.name)
    owned = {r.origin for r in resources.values()} | {r.origin for r in metadata.values()}
    result.unowned = sorted({origin for _, _, _, origin in data_files} - owned)
    return result


def _claim(claimed: dict[str, ModuleFile], module: ModuleFile) -> None:
    other = claimed.get(module.name)
    if other is None or other.path is None:
        claimed[module.name] = module
    elif other.path != module.path:
        raise CollectError(
            f"two files map to module {module.name!r}: {other.origin} and {module.origin}; "
            "a binary holds one module per name: rename one, or drop one of them from srcs/deps")


def _claim_data(claimed: dict[str, ResourceFile], resource: ResourceFile, kind: str) -> None:
    other = claimed.get(resource.name)
    if other is not None and other.path != resource.path:
        raise CollectError(f"two files map to {kind} {resource.name!r}: {other.origin} and {resource.origin}")
    claimed[resource.name] = resource


def stdlib_files(libdir: str) -> list[tuple[str, str, str]]:
    """The files of a stdlib directory (`install/lib/pythonX.Y`) as map_files input."""
    found = []
    for directory, subdirs, names in os.walk(libdir):
        rel_dir = os.path.relpath(directory, libdir)
        subdirs[:] = sorted(d for d in subdirs if d not in STDLIB_SKIP_DIRS and not (
            rel_dir == "." and d.startswith(STDLIB_SKIP_PREFIXES)))
        for name in sorted(names):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
            if rel_dir == "." and not name.endswith(".py"):
                continue  # LICENSE.txt and the like: not part of any package
            found.append(("stdlib/" + rel, os.path.join(directory, name), "<stdlib>/" + rel))
    return found


def stdlib_module_set(libdir: str) -> ModuleSet:
    return map_files(stdlib_files(libdir), ["stdlib"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib", required=True, help="the stdlib directory, e.g. python/install/lib/python3.13")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.stdlib):
        parser.error(f"--stdlib {args.stdlib}: not a directory")
    modules = stdlib_module_set(args.stdlib)
    json.dump({"modules": [m.name for m in modules.modules],
               "resources": [r.name for r in modules.resources]}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CollectError as e:
        print(f"collect: {e}", file=sys.stderr)
        sys.exit(1)
