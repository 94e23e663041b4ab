"""Where a wheel's members go when installed, and which of them are extension modules.

Standard library only: imported by tools/compile (on the distribution's interpreter) and by
tools/wheel/inspect_wheel (on the host's).
"""

from __future__ import annotations

import re

# importlib.machinery.EXTENSION_SUFFIXES of CPython on Linux: .cpython-313-x86_64-linux-gnu.so,
# .abi3.so, .so.
EXTENSION_SUFFIX = re.compile(r"(\.cpython-\d+[a-z]*-[A-Za-z0-9_]+-linux-[a-z]+|\.abi3)?\.so$")


def installed_path(member: str) -> str | None:
    """The member's path under site-packages; None for what is not installed there (.data's
    scripts, headers, data)."""
    parts = member.split("/")
    if len(parts) > 2 and parts[0].endswith(".data"):
        return "/".join(parts[2:]) if parts[1] in ("purelib", "platlib") else None
    return member


def is_extension_module(path: str) -> bool:
    """An installed path that names an extension module (not a library auditwheel vendored)."""
    parts = path.split("/")
    return bool(EXTENSION_SUFFIX.search(parts[-1])) and not any(p.endswith(".libs") for p in parts[:-1])


def module_name(path: str) -> tuple[list[str], bool]:
    """(dotted name parts, is_package) of an extension module's installed path."""
    parts = path.split("/")
    stem = EXTENSION_SUFFIX.sub("", parts[-1])
    if stem == "__init__":
        return parts[:-1], True
    return parts[:-1] + [stem], False
