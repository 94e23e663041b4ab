"""The compiled bundle, tools/compile's output and tools/pack's input (docs/bundle-format.md)."""

from __future__ import annotations

import marshal
import sys
from typing import Any

FORMAT = "rps-bundle-3"

# table -> the types of each entry's fields (None: that field may be None).
_ENTRY_TYPES: dict[str, tuple[tuple[type, ...], ...]] = {
    "modules": ((str,), (int,), (bytes,), (bytes, type(None)), (str,)),
    "resources": ((str,), (bytes,), (str,)),
    "metadata": ((str,), (bytes,), (str,)),
    "libraries": ((str,), (bytes,), (str,), (bytes, type(None))),
}


class BundleError(Exception):
    """A file is not a bundle this interpreter can pack; the message names it and says why."""


def dumps(optimize: int, modules: list, resources: list, metadata: list, libraries: list, packages: list) -> bytes:
    """The bundle's bytes. Marshal format 2 writes no back-references: format 3 and later flag an
    object for reuse when its reference count is above one, which depends on the process's
    history (CPython issue 78274), so the same bundle came out in two encodings with one and with
    several worker processes."""
    return marshal.dumps({
        "format": FORMAT,
        "python": tuple(sys.version_info[:2]),
        "optimize": optimize,
        "modules": modules,
        "resources": resources,
        "metadata": metadata,
        "libraries": libraries,
        "packages": packages,
    }, 2)


def load(path: str) -> dict[str, Any]:
    """Reads and checks the bundle at `path` (docs/bundle-format.md, "What a reader checks")."""
    try:
        with open(path, "rb") as f:
            content = marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError) as e:
        raise BundleError(f"{path}: not a readable bundle ({e}); rebuild it with tools/compile") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        found = content.get("format") if isinstance(content, dict) else type(content).__name__
        raise BundleError(f"{path}: not a {FORMAT} bundle (found {found!r}); rebuild it with tools/compile")
    python = content.get("python")
    if python != tuple(sys.version_info[:2]):
        raise BundleError(f"{path}: compiled by Python {python}, packing with {tuple(sys.version_info[:2])}: "
                          "a bundle is packed by the interpreter that compiled it")
    if content.get("optimize") not in (0, 1, 2):
        raise BundleError(f"{path}: optimize is {content.get('optimize')!r}, not 0, 1 or 2")
    for table, types in _ENTRY_TYPES.items():
        entries = content.get(table)
        if not isinstance(entries, list):
            raise BundleError(f"{path}: {table} is not a list")
        for index, entry in enumerate(entries):
            if (not isinstance(entry, tuple) or len(entry) != len(types)
                    or not all(isinstance(field, allowed) for field, allowed in zip(entry, types))):
                raise BundleError(f"{path}: {table}[{index}] is not a ({', '.join('/'.join(t.__name__ for t in allowed) for allowed in types)}) entry")
    packages = content.get("packages")
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise BundleError(f"{path}: packages is not a list of records")
    return content
