"""Writer and checking reader of the packed resources format (docs/resources-format.md)."""

from __future__ import annotations

import dataclasses
import struct
import zlib
from typing import Iterable

MAGIC = b"RPSRES\x00\x1a"
VERSION = 6
HEADER = struct.Struct("<8sIIQIIIIIIIIIIIIIII12s")
ENTRY = struct.Struct("<IIIIIIII")
assert HEADER.size == 96 and ENTRY.size == 32
ALIGNMENT = 16
TABLES = ("modules", "resources", "metadata", "libraries")

PACKAGE = 1
NAMESPACE = 2
SOURCE = 4
COMPRESSED = 8
EXTENSION = 16
KNOWN_FLAGS = PACKAGE | NAMESPACE | SOURCE | COMPRESSED | EXTENSION

# The header's runtime_flags: how the C runtime starts and ends the interpreter (a binary's
# isolated, python_command_line and finalization attributes), read before Python starts.
RUNTIME_ISOLATED = 1
RUNTIME_PYTHON_COMMAND_LINE = 2
RUNTIME_FULL_FINALIZATION = 4
KNOWN_RUNTIME_FLAGS = RUNTIME_ISOLATED | RUNTIME_PYTHON_COMMAND_LINE | RUNTIME_FULL_FINALIZATION
_RUNTIME_FLAGS_FIELD = 56
_LENGTH = struct.Struct("<I")
_CRC_FIELD = 60
_TABLE_FIELDS = (24, 32, 40, 64)  # header offsets of the tables' (offset, count) pairs
_U32_MAX = 0xFFFFFFFF
_DICTIONARY_FIELD = 72

# zstd settings of COMPRESSED entries (docs/resources-format.md). Level 19: decoding speed hardly
# depends on the level, and the build pays once. The dictionary is trained with fixed fastCover
# parameters (no parameter search, one thread): the same modules give the same bytes.
ZSTD_LEVEL = 19
DICTIONARY_SIZE = 112640  # zstd's default dictionary size
_DICTIONARY_TRAINING = {"k": 1024, "d": 8}
# Below ~100 bytes of samples per dictionary byte, a dictionary costs more than it saves.
_SAMPLE_BYTES_PER_DICTIONARY_BYTE = 100


class FormatError(Exception):
    """The bytes are not a valid blob; the message says which check failed and where."""


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    data: bytes
    source: bytes | None = None
    flags: int = 0


def _zstandard():
    # Imported on first use: only compressing or reading COMPRESSED entries needs it.
    try:
        import zstandard
    except ImportError as e:
        raise FormatError(f"compressed packed resources need the zstandard package ({e})") from None
    return zstandard


def compress_codes(codes: list[bytes]) -> tuple[bytes, list[bytes]]:
    """COMPRESSED payloads for marshalled codes: (the dictionary, or b"" when too little to
    train one on, [each code's length (u32) then its zstd frame])."""
    zstandard = _zstandard()
    total = sum(map(len, codes))
    dictionary = None
    size = min(DICTIONARY_SIZE, total // _SAMPLE_BYTES_PER_DICTIONARY_BYTE)
    if size >= 4096 and len(codes) >= 8:
        try:
            dictionary = zstandard.train_dictionary(size, codes, **_DICTIONARY_TRAINING)
        except zstandard.ZstdError:
            dictionary = None  # samples zstd cannot train on (too uniform): frames without one
    compressor = zstandard.ZstdCompressor(
        level=ZSTD_LEVEL, dict_data=dictionary,
        # The entry's CRC-32 covers the stored bytes and the length prefix the size.
        write_checksum=False, write_content_size=False, write_dict_id=True,
    )
    frames = [_LENGTH.pack(len(code)) + compressor.compress(code) for code in codes]
    return (dictionary.as_bytes() if dictionary else b""), frames


def _flags_problem(flags: int, table: str, data_length: int) -> bool:
    """True when an entry's flags break the format's rules (docs/resources-format.md)."""
    if flags & ~KNOWN_FLAGS or (table != "modules" and flags):
        return True
    if flags & COMPRESSED and (flags & NAMESPACE or data_length < _LENGTH.size):
        return True
    return bool(flags & EXTENSION and flags & (NAMESPACE | SOURCE | COMPRESSED))


def _crc(data: bytes, source: bytes | None) -> int:
    return zlib.crc32(source or b"", zlib.crc32(data))


def write(tables: dict[str, Iterable[Entry]], dictionary: bytes = b"", runtime_flags: int = 0) -> bytes:
    """Serializes the tables (keys from TABLES; missing ones are empty) into one blob, with the
    zstd dictionary of its COMPRESSED entries when there is one (compress_codes) and the
    runtime's settings (RUNTIME_* bits)."""
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ValueError(f"unknown tables: {sorted(unknown)}")
    if runtime_flags & ~KNOWN_RUNTIME_FLAGS:
        raise ValueError(f"unknown runtime flags {runtime_flags & ~KNOWN_RUNTIME_FLAGS:#x}")
    sorted_tables: list[list[tuple[bytes, Entry]]] = []
    for table in TABLES:
        items = sorted(((e.name.encode("utf-8"), e) for e in tables.get(table, ())), key=lambda item: item[0])
        for (a, _), (b, _) in zip(items, items[1:]):
            if a == b:
                raise ValueError(f"duplicate {table} entry {a.decode()!r}")
        for raw, entry in items:
            if not raw:
                raise ValueError(f"empty name in the {table} table")
            if _flags_problem(entry.flags, table, len(entry.data)):
                raise ValueError(f"{table} entry {entry.name!r}: invalid flags {entry.flags:#x}")
        sorted_tables.append(items)

    table_offsets = []
    position = HEADER.size
    for items in sorted_tables:
        table_offsets.append((position, len(items)))
        position += ENTRY.size * len(items)
    strings_offset = position
    strings = bytearray()
    name_offsets: list[list[int]] = []
    for items in sorted_tables:
        name_offsets.append([])
        for raw, _ in items:
            name_offsets[-1].append(strings_offset + len(strings))
            strings += raw
    index_end = strings_offset + len(strings)

    payloads = bytearray()
    payload_offsets: dict[bytes, int] = {}  # identical payloads are stored once

    def place(data: bytes) -> int:
        if not data:
            return 0
        if data not in payload_offsets:
            start = _align(index_end + len(payloads))
            payloads.extend(b"\0" * (start - index_end - len(payloads)))
            payload_offsets[data] = start
            payloads.extend(data)
        return payload_offsets[data]

    # The dictionary first: it is read before any compressed module.
    dictionary_offset = place(dictionary)
    records = bytearray()
    for items, names in zip(sorted_tables, name_offsets):
        for (raw, entry), name_offset in zip(items, names):
            source = entry.source if entry.source is not None else b""
            records += ENTRY.pack(
                name_offset, len(raw),
                place(entry.data), len(entry.data),
                place(source), len(source),
                entry.flags, _crc(entry.data, source),
            )
    blob_size = index_end + len(payloads)
    if blob_size > _U32_MAX:
        raise ValueError(f"packed resources are {blob_size} bytes; the format is limited to 4 GiB")
    fields = [v for pair in table_offsets for v in pair]
    header = bytearray(HEADER.pack(
        MAGIC, VERSION, HEADER.size, blob_size,
        *fields[:6], strings_offset, index_end, runtime_flags, 0, *fields[6:],
        dictionary_offset, len(dictionary), zlib.crc32(dictionary) if dictionary else 0, bytes(12),
    ))
    index = header + records + strings
    struct.pack_into("<I", index, _CRC_FIELD, index_crc(index))
    return bytes(index + payloads)


def index_crc(index: bytes) -> int:
    """The index_crc32 field's value for `index` (bytes [0, index_end)): the CRC-32 of the index
    with that field read as 0."""
    return zlib.crc32(bytes(index[:_CRC_FIELD]) + b"\0\0\0\0" + bytes(index[_CRC_FIELD + 4:]))


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


@dataclasses.dataclass(frozen=True)
class Record:
    name: str
    data_offset: int
    data_length: int
    source_offset: int
    source_length: int
    flags: int
    crc32: int
    table: str = ""


class Blob:
    """A checked, read-only view of a blob. Every offset and length is checked on open."""

    def __init__(self, blob: bytes | memoryview):
        self._blob = memoryview(blob).cast("B")
        self.tables: dict[str, list[Record]] = {}
        self._check_index()

    def _fail(self, what: str, offset: int) -> FormatError:
        return FormatError(f"corrupt packed resources: {what} (at offset {offset})")

    def _check_index(self) -> None:
        blob = self._blob
        if len(blob) < HEADER.size:
            raise self._fail(f"{len(blob)} bytes is shorter than the {HEADER.size}-byte header", 0)
        (magic, version, header_size, blob_size, *first_tables, strings_offset, index_end, flags,
         crc, libraries_offset, libraries_count, dictionary_offset, dictionary_length, dictionary_crc,
         reserved) = HEADER.unpack_from(blob)
        table_fields = first_tables + [libraries_offset, libraries_count]
        if magic != MAGIC:
            raise self._fail(f"bad magic {magic!r}", 0)
        if version != VERSION:
            raise FormatError(f"packed resources format version {version} is not supported "
                              f"(this reader knows version {VERSION})")
        if header_size != HEADER.size:
            raise self._fail(f"header_size {header_size} != {HEADER.size}", 12)
        if blob_size != len(blob):
            raise self._fail(f"blob_size {blob_size} != actual size {len(blob)}", 16)
        if flags & ~KNOWN_RUNTIME_FLAGS:
            raise self._fail(f"unknown runtime flags {flags & ~KNOWN_RUNTIME_FLAGS:#x}", _RUNTIME_FLAGS_FIELD)
        self.runtime_flags = flags
        if any(reserved):
            raise self._fail("reserved header bytes are not zero", 84)
        if not HEADER.size <= strings_offset <= index_end <= blob_size:
            raise self._fail("strings_offset/index_end out of order or out of range", 48)
        if index_crc(blob[:index_end]) != crc:
            raise self._fail("index CRC-32 mismatch", _CRC_FIELD)
        if dictionary_length == 0:
            if dictionary_offset or dictionary_crc:
                raise self._fail("dictionary offset or CRC without a dictionary", _DICTIONARY_FIELD)
        elif dictionary_offset < index_end or dictionary_offset + dictionary_length > blob_size:
            raise self._fail(f"dictionary [{dictionary_offset}, {dictionary_offset + dictionary_length}) "
                             "outside the payloads", _DICTIONARY_FIELD)
        self.dictionary = (dictionary_offset, dictionary_length, dictionary_crc)
        self._decompressor = None
        tables_end = HEADER.size
        for i, table in enumerate(TABLES):
            offset, count = table_fields[2 * i], table_fields[2 * i + 1]
            end = offset + ENTRY.size * count
            if offset < tables_end or end > strings_offset:
                raise self._fail(f"{table} table [{offset}, {end}) overlaps or leaves the index", _TABLE_FIELDS[i])
            tables_end = end
            records = []
            previous = b""
            for n in range(count):
                at = offset + ENTRY.size * n
                fields = ENTRY.unpack_from(blob, at)
                name_offset, name_length, data_offset, data_length, source_offset, source_length, eflags, ecrc = fields
                if name_length == 0 or name_offset < strings_offset or name_offset + name_length > index_end:
                    raise self._fail(f"{table} entry {n}: name outside the string area", at)
                raw = bytes(blob[name_offset:name_offset + name_length])
                if raw <= previous:
                    raise self._fail(f"{table} entry {n}: names not strictly increasing", at)
                previous = raw
                for what, start, length in (("data", data_offset, data_length), ("source", source_offset, source_length)):
                    if length and (start < index_end or start + length > blob_size):
                        raise self._fail(f"{table} entry {n}: {what} [{start}, {start + length}) outside the payloads", at)
                if _flags_problem(eflags, table, data_length):
                    raise self._fail(f"{table} entry {n}: invalid flags {eflags:#x}", at + 24)
                try:
                    name = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise self._fail(f"{table} entry {n}: name is not UTF-8", at) from None
                records.append(Record(name, data_offset, data_length, source_offset, source_length, eflags, ecrc, table))
            self.tables[table] = records

    def find(self, table: str, name: str) -> Record | None:
        records = self.tables[table]
        key = name.encode("utf-8")
        lo, hi = 0, len(records)
        while lo < hi:
            mid = (lo + hi) // 2
            mid_key = records[mid].name.encode("utf-8")
            if mid_key < key:
                lo = mid + 1
            elif mid_key > key:
                hi = mid
            else:
                return records[mid]
        return None

    def payload(self, record: Record) -> tuple[memoryview, memoryview | None]:
        """Returns (data, source) after checking the entry's CRC-32."""
        data = self._blob[record.data_offset:record.data_offset + record.data_length]
        source = self._blob[record.source_offset:record.source_offset + record.source_length]
        if zlib.crc32(source, zlib.crc32(data)) != record.crc32:
            raise FormatError(f"corrupt packed resources: CRC-32 mismatch in entry {record.name!r} "
                              f"(at offset {record.data_offset})")
        # A library's second payload (its cycle patches) is there when it is not empty.
        has_source = record.flags & (SOURCE | EXTENSION) or (record.table == "libraries" and record.source_length)
        return data, (source if has_source else None)

    def module_code(self, record: Record) -> bytes:
        """The marshalled code of a module entry (decompressed when COMPRESSED), CRC-checked."""
        data, _ = self.payload(record)
        if not record.flags & COMPRESSED:
            return bytes(data)
        (length,) = _LENGTH.unpack_from(data)
        zstandard = _zstandard()
        try:
            code = self._zstd_decompressor().decompress(data[_LENGTH.size:], max_output_size=length)
        except zstandard.ZstdError as e:
            raise FormatError(f"corrupt packed resources: entry {record.name!r} does not decompress: {e}") from None
        if len(code) != length:
            raise FormatError(f"corrupt packed resources: entry {record.name!r} decompresses to {len(code)} "
                              f"bytes, its header says {length}")
        return code

    def _zstd_decompressor(self):
        """The decompressor of COMPRESSED entries, made once, after the dictionary's checks."""
        if self._decompressor is None:
            zstandard = _zstandard()
            offset, length, crc = self.dictionary
            dictionary = None
            if length:
                data = bytes(self._blob[offset:offset + length])
                if zlib.crc32(data) != crc:
                    raise FormatError(f"corrupt packed resources: dictionary CRC-32 mismatch (at offset {offset})")
                # zstd parses it at the first frame: a damaged one fails that entry's decompression.
                dictionary = zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_FULLDICT)
            self._decompressor = zstandard.ZstdDecompressor(dict_data=dictionary)
        return self._decompressor
