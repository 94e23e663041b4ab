"""Writes copies of a distribution's static libraries whose symbols are all hidden.

A binary that loads extension modules from wheels is linked with -rdynamic, which exports every
default-visibility global it defines. Only CPython's C API may be among them: a wheel that
bundles its own OpenSSL, libffi, zlib... must not have its library's internal calls bound to the
binary's copy. Compiler flags cannot ensure that (assembly `.globl` ignores -fvisibility, and
python-build-standalone builds its libraries without it), so this tool sets the visibility of
every defined GLOBAL or WEAK symbol of each library to STV_HIDDEN in the library's ELF symbol
tables. Hidden symbols still resolve within the static link, so CPython's _ssl, _ctypes, ... work
as before; only the dynamic symbol table no longer lists them.

Which files: every static library (`path_static`) that PYTHON.json links, from `core.links` and
from each extension module's `links`, except libpython (`core.static_lib`), the C API itself:
all their symbols are hidden. python-build-standalone links libpython as object files
(`core.objs`, `inittab_object`, the extension modules' `objs`), compiled without hidden
visibility: in those, the symbols of the C API (names starting with Py or _Py, the prefixes
CPython reserves, and PY_TIMEOUT_MAX) keep their visibility and all others are hidden; objects
of LTO builds are LLVM bitcode, which cannot be patched and is copied as it is. Each copy keeps
its path relative to the distribution root, under --out.

How: an archive's members are stored contiguously, so changing one byte (st_other) per symbol
in place keeps every header, offset and size, and the archive's symbol index (which lists
hidden symbols too) stays valid. Anything else is refused with an error naming the file: thin
archives, BSD-style names, members that are not ELF relocatable objects (e.g. LLVM bitcode),
symbol tables that do not fit their member.

    hide_symbols.py --python-json DIST/PYTHON.json --out DIR
    hide_symbols.py --archive IN.a --out OUT.a     (one archive, every symbol hidden)
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import pathlib
import sys
from collections.abc import Callable

from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile

from tools.formats import python_json

AR_MAGIC = b"!<arch>\n"
THIN_MAGIC = b"!<thin>\n"
_HEADER_SIZE = 60
_ELF_MAGIC = b"\x7fELF"
_BITCODE_MAGICS = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
_STV_INTERNAL, _STV_HIDDEN = 1, 2  # the low two bits of st_other; INTERNAL is stricter still
# st_other's offset in a symbol table entry, and the entry's size, per ELF class.
_LAYOUT = {32: (13, 16), 64: (5, 24)}
# The archive's own members: the symbol index (GNU "/", 64-bit "/SYM64/") and the long-name table.
_SPECIAL_MEMBERS = (b"/", b"/SYM64/", b"//")


# The one name of the C API (pythread.h, PyAPI_DATA) outside CPython's Py/_Py prefixes.
_API_NAMES_WITHOUT_PREFIX = frozenset({"PY_TIMEOUT_MAX"})


def is_c_api(name: str) -> bool:
    """Whether `name` may be part of CPython's C API, which extension modules bind to."""
    return name.startswith(("Py", "_Py")) or name in _API_NAMES_WITHOUT_PREFIX


def hide_all(name: str) -> bool:
    """The keep predicate of a library archive: nothing of it is exported."""
    return False


class HideError(Exception):
    """An input is not an archive or object this tool can rewrite; the message names it."""


@dataclasses.dataclass
class Result:
    members: int = 0   # ELF members rewritten
    hidden: int = 0    # symbols whose visibility changed


def hide_object(data: bytearray, start: int, size: int, where: str, keep: Callable[[str], bool] = hide_all) -> int:
    """Hides the defined GLOBAL/WEAK symbols but those `keep` names, of the ELF relocatable
    object in data[start:start+size]. Returns how many symbols changed visibility."""
    member = bytes(data[start:start + size])
    if member[:4] in _BITCODE_MAGICS:
        raise HideError(f"{where} is LLVM bitcode (an LTO build): its symbols' visibility cannot be "
                        "changed; use a distribution built without LTO")
    if member[:4] != _ELF_MAGIC:
        raise HideError(f"{where} is not an ELF object (starts with {member[:4]!r})")
    try:
        elf = ELFFile(io.BytesIO(member))
        if elf["e_type"] != "ET_REL":
            raise HideError(f"{where} is an ELF {elf['e_type']}, not a relocatable object")
        other_offset, entry_size = _LAYOUT[elf.elfclass]
        changed = 0
        for section in elf.iter_sections():
            if section["sh_type"] != "SHT_SYMTAB":
                continue
            offset, length = section["sh_offset"], section["sh_size"]
            if section["sh_entsize"] != entry_size or length % entry_size or offset + length > size:
                raise HideError(f"{where}: symbol table {section.name!r} (offset {offset}, size {length}, "
                                f"entry size {section['sh_entsize']}) does not fit the object")
            for index, symbol in enumerate(section.iter_symbols()):
                if symbol["st_info"]["bind"] not in ("STB_GLOBAL", "STB_WEAK") or symbol["st_shndx"] == "SHN_UNDEF":
                    continue
                if keep(symbol.name):
                    continue
                at = start + offset + index * entry_size + other_offset
                if data[at] & 3 not in (_STV_HIDDEN, _STV_INTERNAL):
                    data[at] = (data[at] & ~3) | _STV_HIDDEN
                    changed += 1
        return changed
    except (ELFError, ConstructError, ValueError, KeyError, IndexError) as e:
        raise HideError(f"{where}: not a readable ELF object: {e}") from None


def hide_archive(data: bytearray, where: str) -> Result:
    """Hides the symbols of every member of the GNU archive `data` in place."""
    if data[:8] == THIN_MAGIC:
        raise HideError(f"{where} is a thin archive (its members live in other files); use a regular archive")
    if data[:8] != AR_MAGIC:
        raise HideError(f"{where} is not an ar archive (starts with {bytes(data[:8])!r})")
    result = Result()
    pos = len(AR_MAGIC)
    while pos < len(data):
        if pos + _HEADER_SIZE > len(data):
            raise HideError(f"{where}: truncated member header at offset {pos}")
        header = bytes(data[pos:pos + _HEADER_SIZE])
        if header[58:60] != b"`\n":
            raise HideError(f"{where}: bad member header at offset {pos} (no terminator)")
        name = header[:16].rstrip(b" ")
        size_field = header[48:58].rstrip(b" ")
        if not size_field.isdigit():  # decimal digits only: no sign, no blanks inside
            raise HideError(f"{where}: member at offset {pos} has no valid size ({header[48:58]!r})")
        size = int(size_field)
        start = pos + _HEADER_SIZE
        if start + size > len(data):
            raise HideError(f"{where}: member {name.decode(errors='replace')!r} at offset {pos} runs past the end")
        if name.startswith(b"#1/"):
            raise HideError(f"{where}: BSD-style member name {name.decode(errors='replace')!r}; only GNU archives are supported")
        if name == b"__.SYMDEF" or name.startswith(b"__.SYMDEF "):
            raise HideError(f"{where}: BSD symbol index (__.SYMDEF); only GNU archives are supported")
        if name not in _SPECIAL_MEMBERS:
            label = f"{where}({name.decode(errors='replace')} at offset {pos})"
            result.hidden += hide_object(data, start, size, label)
            result.members += 1
        pos = start + size + (size & 1)
    return result


def hide_file(source: pathlib.Path, target: pathlib.Path) -> Result:
    """Writes `target`: a copy of the archive `source` with its symbols hidden."""
    try:
        data = bytearray(source.read_bytes())
    except OSError as e:
        raise HideError(f"cannot read {source}: {e}") from None
    result = hide_archive(data, str(source))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return result


def hide_object_file(source: pathlib.Path, target: pathlib.Path) -> Result:
    """Writes `target`: a copy of the object file `source` with all but the C API hidden
    (LLVM bitcode is copied unchanged)."""
    try:
        data = bytearray(source.read_bytes())
    except OSError as e:
        raise HideError(f"cannot read {source}: {e}") from None
    result = Result()
    if data[:4] not in _BITCODE_MAGICS:
        result.hidden = hide_object(data, 0, len(data), str(source), is_c_api)
        result.members = 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return result


def objects(dist: python_json.Distribution) -> list[str]:
    """The object files that make libpython (python-build-standalone's core and extension objects)."""
    paths = list(dist.core_objs) + ([dist.inittab_object] if dist.inittab_object else [])
    for name in sorted(dist.extensions):
        for variant in dist.extensions[name]:
            paths.extend(variant.objs)
    return list(dict.fromkeys(paths))


def libraries(dist: python_json.Distribution) -> list[str]:
    """The distribution's static libraries to hide: every path_static link but libpython."""
    links = list(dist.core_links)
    for name in sorted(dist.extensions):
        for variant in dist.extensions[name]:
            links.extend(variant.links)
    paths = dict.fromkeys(link.path_static for link in links if link.path_static and not link.system)
    paths.pop(dist.core_static_lib, None)
    return list(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--python-json", help="hide the static libraries (but libpython) and objects of this distribution")
    source.add_argument("--archive", help="hide one archive")
    parser.add_argument("--out", required=True, help="the output directory (--python-json) or archive (--archive)")
    args = parser.parse_args(argv)
    try:
        if args.archive:
            hide_file(pathlib.Path(args.archive), pathlib.Path(args.out))
            return 0
        dist = python_json.load(pathlib.Path(args.python_json))
        root = pathlib.Path(args.python_json).parent
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for path in libraries(dist):
            hide_file(root / path, out / path)
        for path in objects(dist):
            hide_object_file(root / path, out / path)
    except (python_json.PythonJsonError, HideError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
