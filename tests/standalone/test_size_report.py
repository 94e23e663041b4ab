"""The size report of real binaries: every byte of the executable in one named part, the
treemap's boxes covering the picture as the parts cover the file (tools/size_report)."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

_SVG = "{http://www.w3.org/2000/svg}"
_ROW = re.compile(r"^\s*([\d,]+)\s+([\d.]+) %\s{2}(.+?)\s{2,}(\S.*)$")
_BINARIES = ["HELLO", "HELLO_PRUNED", "EXTENSIONS_APP"]


def _binary(variable: str) -> Path:
    return Path(os.environ[variable]).resolve()


def _parts(variable: str) -> list[tuple[int, str, str]]:
    """(bytes, group, part) of the table in <binary>.size.txt."""
    binary = _binary(variable)
    lines = binary.with_name(binary.name + ".size.txt").read_text().splitlines()
    assert lines[0].endswith(f": {os.path.getsize(binary):,} bytes ({lines[0].rsplit('(', 1)[1]}")
    rows = []
    for line in lines[3:]:
        if not line:
            break
        match = _ROW.match(line)
        assert match, line
        rows.append((int(match[1].replace(",", "")), match[3], match[4]))
    return rows


@pytest.mark.parametrize("variable", _BINARIES)
def test_parts_add_up_to_the_file_size(variable):
    parts = _parts(variable)
    size = os.path.getsize(_binary(variable))
    assert sum(n for n, _, _ in parts) == size
    assert all(n > 0 and name for n, _, name in parts)
    assert [n for n, _, _ in parts] == sorted((n for n, _, _ in parts), reverse=True)
    groups = {group for _, group, _ in parts}
    for wanted in ("interpreter", "standard library", "application", "start-up runtime", "ELF overhead"):
        assert any(group.startswith(wanted) for group in groups), (wanted, groups)
    names = {name for _, _, name in parts}
    assert {"CPython core (libpython)", "rules_py_standalone runtime (C)", "C runtime (zig)", "ELF headers",
            "resources index"} <= names
    # What is not code or data of a part is small, and named.
    overhead = sum(n for n, group, _ in parts if group.startswith("ELF overhead"))
    assert overhead < 0.05 * size
    unreached = sum(n for n, _, name in parts if "reached by no module" in name)
    assert unreached < 0.01 * size


@pytest.mark.parametrize("variable", _BINARIES)
def test_svg_boxes_cover_the_picture_as_the_parts_cover_the_file(variable):
    binary = _binary(variable)
    root = ET.parse(binary.with_name(binary.name + ".size.svg")).getroot()
    boxes = [r for r in root.iter(_SVG + "rect") if r.get("stroke") == "#ffffff"]
    sides = [(float(b.get("width")), float(b.get("height"))) for b in boxes]
    # The SVG gives lengths to 0.01 px: each box's area is that far from its share of the picture.
    rounding = sum(0.005 * (w + h) + 0.0001 for w, h in sides)
    assert abs(sum(w * h for w, h in sides) - 1200 * 800) <= rounding
    assert len(boxes) == len(_parts(variable))
    titles = [t.text for t in root.iter(_SVG + "title")]
    assert any(t.startswith("standard library (packed): encodings:") and "bytes" in t for t in titles)


def test_stdlib_by_package_and_the_application():
    parts = {(group.split(" (")[0], name): n for n, group, name in _parts("HELLO")}
    assert parts[("standard library", "encodings")] > 100_000
    assert parts[("application", "hello")] > 0
    assert parts[("built-in extension modules", "_sqlite3")] > 500_000  # with libsqlite3.a


def test_pruned_binary_shows_the_extension_modules_left_out():
    pruned = {name for _, _, name in _parts("HELLO_PRUNED")}
    full = {name for _, _, name in _parts("HELLO")}
    assert {"_sqlite3", "_ssl", "_lzma", "_decimal"} <= full - pruned


def test_pypi_packages_with_their_extension_modules_and_libraries():
    binary = _binary("EXTENSIONS_APP")
    parts = {name: n for n, group, name in _parts("EXTENSIONS_APP") if group.startswith("PyPI packages")}
    assert {name.split()[0] for name in parts} == {"numpy", "pyyaml", "markupsafe"}
    numpy = next(n for name, n in parts.items() if name.startswith("numpy "))
    assert numpy > 10_000_000
    svg = binary.with_name(binary.name + ".size.svg").read_text()
    assert "vendored libraries" in svg and "extension modules (shared objects)" in svg
