"""Wraps a packed-resources blob in a linkable object file.

The object defines two read-only global symbols (hidden visibility, so they never leak out of
the executable):

    const unsigned char <symbol>[N];   /* the blob, 16-byte aligned */
    const uint64_t <symbol>_size;      /* N */

The size is stored as data, not as an absolute symbol, so it survives PIE and any linker.
Only the object writer depends on the target's object format: ELF relocatable objects for
Linux now; COFF for Windows is another `ObjectWriter` with the same inputs.

    emit.py --blob resources.bin --symbol rps_resources --machine x86_64 --out resources.o
"""

from __future__ import annotations

import argparse
import struct
import sys
from typing import Protocol

ELF_MACHINES = {"x86_64": 62, "aarch64": 183}
_SHT_PROGBITS, _SHT_SYMTAB, _SHT_STRTAB = 1, 2, 3
_SHF_ALLOC = 2
_STB_LOCAL, _STB_GLOBAL = 0, 1
_STT_OBJECT, _STT_SECTION = 1, 3
_STV_HIDDEN = 2
_SYM = struct.Struct("<IBBHQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
SECTION_ALIGNMENT = 16


class ObjectWriter(Protocol):
    def write(self, data: bytes, symbol: str) -> bytes: ...


class ElfWriter:
    """A 64-bit little-endian ELF relocatable object with one read-only data section."""

    def __init__(self, machine: str):
        if machine not in ELF_MACHINES:
            raise ValueError(f"unsupported ELF machine {machine!r}; supported: {', '.join(ELF_MACHINES)}")
        self.machine = ELF_MACHINES[machine]

    def write(self, data: bytes, symbol: str) -> bytes:
        size_offset = (len(data) + 7) // 8 * 8
        section = data + b"\0" * (size_offset - len(data)) + struct.pack("<Q", len(data))

        shstrtab = bytearray(b"\0")
        strtab = bytearray(b"\0")

        def add(table: bytearray, name: str) -> int:
            offset = len(table)
            table.extend(name.encode("ascii") + b"\0")
            return offset

        names = {n: add(shstrtab, n) for n in (".rodata.rps_resources", ".note.GNU-stack", ".symtab", ".strtab", ".shstrtab")}
        symbols = b"".join([
            _SYM.pack(0, 0, 0, 0, 0, 0),
            _SYM.pack(0, (_STB_LOCAL << 4) | _STT_SECTION, 0, 1, 0, 0),
            _SYM.pack(add(strtab, symbol), (_STB_GLOBAL << 4) | _STT_OBJECT, _STV_HIDDEN, 1, 0, len(data)),
            _SYM.pack(add(strtab, symbol + "_size"), (_STB_GLOBAL << 4) | _STT_OBJECT, _STV_HIDDEN, 1, size_offset, 8),
        ])
        first_global = 2

        # Layout: ELF header, section contents (each aligned), section header table.
        out = bytearray(_EHDR.size)
        placed = {}
        for name, content, align in ((".rodata.rps_resources", section, SECTION_ALIGNMENT),
                                     (".symtab", symbols, 8), (".strtab", bytes(strtab), 1),
                                     (".shstrtab", bytes(shstrtab), 1)):
            out.extend(b"\0" * (-len(out) % align))
            placed[name] = len(out)
            out.extend(content)
        out.extend(b"\0" * (-len(out) % 8))
        shoff = len(out)
        headers = [
            _SHDR.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            _SHDR.pack(names[".rodata.rps_resources"], _SHT_PROGBITS, _SHF_ALLOC, 0,
                       placed[".rodata.rps_resources"], len(section), 0, 0, SECTION_ALIGNMENT, 0),
            # An empty .note.GNU-stack marks the object as not needing an executable stack.
            _SHDR.pack(names[".note.GNU-stack"], _SHT_PROGBITS, 0, 0, placed[".symtab"], 0, 0, 0, 1, 0),
            _SHDR.pack(names[".symtab"], _SHT_SYMTAB, 0, 0, placed[".symtab"], len(symbols), 4, first_global, 8, _SYM.size),
            _SHDR.pack(names[".strtab"], _SHT_STRTAB, 0, 0, placed[".strtab"], len(strtab), 0, 0, 1, 0),
            _SHDR.pack(names[".shstrtab"], _SHT_STRTAB, 0, 0, placed[".shstrtab"], len(shstrtab), 0, 0, 1, 0),
        ]
        for header in headers:
            out.extend(header)
        ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
        _EHDR.pack_into(out, 0, ident, 1, self.machine, 1, 0, 0, shoff, 0, _EHDR.size, 0, 0,
                        _SHDR.size, len(headers), len(headers) - 1)
        return bytes(out)


def writer_for(machine: str) -> ObjectWriter:
    return ElfWriter(machine)


def _valid_symbol(symbol: str) -> bool:
    return symbol.isascii() and symbol.replace("_", "a").isalnum() and not symbol[0].isdigit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blob", required=True, help="the packed resources")
    parser.add_argument("--symbol", default="rps_resources", help="C name of the blob")
    parser.add_argument("--machine", required=True, choices=sorted(ELF_MACHINES))
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if not _valid_symbol(args.symbol):
        parser.error(f"--symbol {args.symbol!r} is not a C identifier")
    try:
        with open(args.blob, "rb") as f:
            data = f.read()
    except OSError as e:
        print(f"emit: cannot read the blob: {e}", file=sys.stderr)
        return 1
    with open(args.out, "wb") as f:
        f.write(writer_for(args.machine).write(data, args.symbol))
    return 0


if __name__ == "__main__":
    sys.exit(main())
