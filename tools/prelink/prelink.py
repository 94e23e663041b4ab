"""Links a library's objects and archives into one relocatable object whose symbols are private.

A static library that a host program links (py_standalone_library) brings CPython and the static
libraries it bundles (OpenSSL, zlib, libffi, ...). Hidden visibility keeps their symbols out of
the program's dynamic symbol table, but not out of the static link: a host that defines or links
its own zlibVersion would get a duplicate symbol, or CPython's zlib module would call the host's
zlib. So the library's objects are first linked together (`ld -r`, which also picks the archive
members they need), and then every symbol the result defines is made local except the ones to
keep (the embedding API, `--keep`): the host program can see nothing else, and nothing of the
library can bind to the host's definitions (references between the library's own parts are
already resolved inside the object).

How: the symbol table of the relocatable object is rewritten in place. ELF requires local
symbols before global ones (`sh_info` of .symtab is the first global's index), so the symbols
to localize move to the end of the local part; every relocation, section group and extended
section index table that refers to symbols by index is renumbered. The address-significance
table (.llvm_addrsig, symbol indices in ULEB128) is dropped (only identical-code folding reads
it). Undefined symbols (what the library needs from the C library) stay global. Common symbols
(OpenSSL's assembly declares OPENSSL_ia32cap_P with .comm, and this lld has no --define-common)
are first given space at the end of .bss, as the final link would give them.

    prelink.py --ld LD --out OUT.o --system-libraries-out LIBS.params [--params LINK.params]
        [--keep PATTERN ...] INPUT...

The linker response file of tools/link_plan may hold system libraries (-lm): they cannot be
linked into a relocatable object, so they are written to --system-libraries-out for the final
link, one per line.
"""

from __future__ import annotations

import argparse
import array
import fnmatch
import struct
import subprocess
import sys

_SHT_SYMTAB, _SHT_RELA, _SHT_REL, _SHT_GROUP, _SHT_SYMTAB_SHNDX = 2, 4, 9, 17, 18
_SHT_PROGBITS, _SHT_NOBITS, _SHT_LLVM_ADDRSIG = 1, 8, 0x6FFF4C03
_SHF_EXCLUDE, _SHF_TLS = 0x80000000, 0x400
_SHN_UNDEF, _SHN_LORESERVE, _SHN_COMMON, _SHN_XINDEX = 0, 0xFF00, 0xFFF2, 0xFFFF
_STB_LOCAL = 0
_ET_REL = 1
_SECTION = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")


class PrelinkError(Exception):
    """The input cannot be prelinked; the message says which and why."""


def _name(strtab: bytes | memoryview, offset: int) -> str:
    end = bytes(strtab[offset:offset + 4096]).find(b"\0")
    return bytes(strtab[offset:offset + end if end >= 0 else None]).decode("utf-8", "replace")


def localize(data: bytearray, keep, path: str = "<object>") -> tuple[int, int]:
    """Makes every defined global symbol of the ELF64 little-endian relocatable object `data`
    local unless keep(name); in place. Returns (symbols made local, symbols kept global)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise PrelinkError(f"{path}: not a 64-bit little-endian ELF file")
    e_type, = struct.unpack_from("<H", data, 16)
    if e_type != _ET_REL:
        raise PrelinkError(f"{path}: not a relocatable object (e_type {e_type})")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    if shentsize != _SECTION.size:
        raise PrelinkError(f"{path}: section headers of {shentsize} bytes, not {_SECTION.size}")
    if shnum == 0:  # more than 0xff00 sections: the count is in section 0's sh_size
        shnum = _SECTION.unpack_from(data, shoff)[5]
    sections = [list(_SECTION.unpack_from(data, shoff + i * shentsize)) for i in range(shnum)]
    symtabs = [i for i, s in enumerate(sections) if s[1] == _SHT_SYMTAB]
    if len(symtabs) != 1:
        raise PrelinkError(f"{path}: {len(symtabs)} symbol tables, expected one")
    index = symtabs[0]
    symtab = sections[index]
    offset, size, link, first_global, entsize = symtab[4], symtab[5], symtab[6], symtab[7], symtab[9]
    if entsize != _SYMBOL.size or size % entsize:
        raise PrelinkError(f"{path}: symbol table entries of {entsize} bytes")
    strtab = memoryview(data)[sections[link][4]:sections[link][4] + sections[link][5]]
    count = size // entsize
    records = [data[offset + i * entsize:offset + (i + 1) * entsize] for i in range(count)]
    localized, kept = [], []
    bss = None
    for i in range(first_global, count):
        name_offset, info, other, shndx, value, symbol_size = _SYMBOL.unpack(records[i])
        name = _name(strtab, name_offset)
        if shndx == _SHN_UNDEF or keep(name):
            kept.append(i)
            continue
        if shndx == _SHN_COMMON:  # value is the alignment: define it in .bss
            if bss is None:
                bss = _bss_index(data, sections, path)
            align = max(value, 1)
            at = (sections[bss][5] + align - 1) // align * align
            sections[bss][5] = at + symbol_size
            sections[bss][8] = max(sections[bss][8], align)
            records[i] = _SYMBOL.pack(name_offset, info, other, bss, at, symbol_size)
        localized.append(i)
    order = list(range(first_global)) + localized + kept
    new_index = array.array("I", bytes(4 * count))
    for new, old in enumerate(order):
        new_index[old] = new
    out = bytearray()
    for old in order:
        record = bytearray(records[old])
        if first_global <= old and new_index[old] < first_global + len(localized):
            record[4] = (_STB_LOCAL << 4) | (record[4] & 0xF)  # binding LOCAL, type kept
            record[5] &= ~0x3  # visibility default: it means nothing for a local symbol
        out += record
    data[offset:offset + size] = out
    symtab[7] = first_global + len(localized)
    for i, section in enumerate(sections):
        kind, sh_link = section[1], section[6]
        start, length = section[4], section[5]
        if kind in (_SHT_RELA, _SHT_REL) and sh_link == index:
            words = array.array("Q", bytes(data[start:start + length]))
            step = 3 if kind == _SHT_RELA else 2
            infos = words[1::step]
            words[1::step] = array.array("Q", ((new_index[w >> 32] << 32) | (w & 0xFFFFFFFF) for w in infos))
            data[start:start + length] = words.tobytes()
        elif kind == _SHT_GROUP and sh_link == index:
            section[7] = new_index[section[7]]
        elif kind == _SHT_SYMTAB_SHNDX and sh_link == index:
            table = array.array("I", bytes(data[start:start + length]))
            data[start:start + length] = array.array("I", (table[old] for old in order)).tobytes()
        elif kind == _SHT_LLVM_ADDRSIG:
            section[1] = _SHT_PROGBITS
            section[2] |= _SHF_EXCLUDE
    for i, section in enumerate(sections):
        _SECTION.pack_into(data, shoff + i * shentsize, *section)
    return len(localized), len(kept)


def _bss_index(data: bytearray, sections: list[list[int]], path: str) -> int:
    """The index of the object's .bss section (zero-initialized, not thread-local)."""
    shstrndx, = struct.unpack_from("<H", data, 0x3E)
    if shstrndx == _SHN_XINDEX:
        shstrndx = sections[0][6]
    names = memoryview(data)[sections[shstrndx][4]:sections[shstrndx][4] + sections[shstrndx][5]]
    for i, section in enumerate(sections):
        name = _name(names, section[0])
        if section[1] == _SHT_NOBITS and not section[2] & _SHF_TLS and (name == ".bss" or name.startswith(".bss.")):
            return i
    raise PrelinkError(f"{path}: common symbols but no .bss section to define them in; compile their "
                       "sources with -fno-common")


def _read_params(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError as e:
        raise PrelinkError(f"cannot read {path}: {e.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ld", required=True, help="the target's ld.lld (the C toolchain's ld)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--system-libraries-out", required=True)
    parser.add_argument("--params", help="tools/link_plan's linker response file")
    parser.add_argument("--keep", action="append", default=[], help="symbols that stay global (shell pattern)")
    parser.add_argument("inputs", nargs="*", help="object files and static archives")
    args = parser.parse_args(argv)
    try:
        inputs = list(args.inputs)
        system = []
        for arg in _read_params(args.params) if args.params else []:
            (system if arg.startswith("-l") else inputs).append(arg)
        # -Wl,... flags of a response file for the compiler driver are plain flags for ld.
        inputs = [a[4:] if a.startswith("-Wl,") else a for a in inputs]
        result = subprocess.run([args.ld, "-r", "-o", args.out, *inputs], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PrelinkError(f"ld -r failed (exit {result.returncode}):\n{result.stderr.strip()}")
        with open(args.out, "rb") as f:
            data = bytearray(f.read())
        localize(data, lambda name: any(fnmatch.fnmatchcase(name, p) for p in args.keep), args.out)
        with open(args.out, "wb") as f:
            f.write(data)
        with open(args.system_libraries_out, "w", encoding="utf-8") as f:
            f.write("".join(lib + "\n" for lib in system))
    except PrelinkError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
