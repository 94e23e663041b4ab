"""Damaged and invalid packed resources (docs/resources-format.md), one named case each, shared by
the Python reader's unit tests (tests/tools/test_resources.py, one test per `test` below) and the
C reader's check (tests/standalone/blob_fuzz.py, which gives every case to `_rps_blob.check_index`).

Standard library and tools/formats/resources.py only: blob_fuzz is a standalone binary without
zstandard. So the compressed blob here holds stand-ins for the zstd dictionary and frames, as
blob_fuzz's own seeds do; no case reaches zstd (the index checks never read those bytes, and the
dictionary's CRC-32 is checked before zstd parses it).

Most cases are refused by both readers' index checks, when the blob is opened. The cases with
`checked_at_use` set pass both index checks on purpose: the damage is in a payload, which the
runtime checks the first time it uses it (start-up does not pay for bytes it never touches); the
reason says where. The unit test asserts the Python reader's error at that use; blob_fuzz
asserts that both index checks accept the blob.

The checks of test_resources.py that only fail when a payload is decompressed (a broken zstd
frame, a frame of another dictionary) are not here: their blobs need real zstd frames, and
neither reader looks into frames before decompressing one.
"""

from __future__ import annotations

import dataclasses
import functools
import struct
import zlib

from tools.formats import resources as r


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    test: str  # the test of tests/tools/test_resources.py that uses it
    blob: bytes
    # A regular expression (re.search) the Python reader's FormatError matches: raised when the
    # blob is opened, or at the use `checked_at_use` names. None: any FormatError on opening.
    python: str | None
    # What the C check's message says (a fragment of it) when it refuses the blob; None: any
    # message. blob_fuzz also compares where both messages say the check failed.
    c: str | None = None
    # Not empty: both index checks accept the blob, and this says why and when the damage is found.
    checked_at_use: str = ""


def valid_blob() -> bytes:
    """A small valid blob: modules (a package, a namespace package, a module with source),
    resources and metadata; no dictionary."""
    return r.write({
        "modules": [
            r.Entry("b", b"code-b", b"source-b", r.SOURCE),
            r.Entry("a", b"code-a", None, r.PACKAGE),
            r.Entry("a.ns", b"", None, r.PACKAGE | r.NAMESPACE),
        ],
        "resources": [r.Entry("a/data.txt", b"hello"), r.Entry("a/sub/x.bin", b"\0\1")],
        "metadata": [r.Entry("a-1.0.dist-info/METADATA", b"Name: a\n")],
    })


# Stand-ins with the magic numbers of a zstd dictionary and frame (RFC 8878); see the docstring.
_DICTIONARY = b"\x37\xa4\x30\xec" + bytes(range(256)) * 4
_FRAME = b"\x28\xb5\x2f\xfd" + bytes(12)


def compressed_blob() -> bytes:
    """A valid blob with a dictionary: COMPRESSED modules m000..m007 and an uncompressed "plain"."""
    entries = [r.Entry(f"m{i:03}", struct.pack("<I", 100 + i) + _FRAME, flags=r.COMPRESSED) for i in range(8)]
    return r.write({"modules": entries + [r.Entry("plain", b"plain")]}, _DICTIONARY)


def rewrite_header(data: bytes, offset: int, fmt: str, *values) -> bytes:
    """`data` with header fields packed at `offset` and the index CRC-32 made to match again."""
    changed = bytearray(data)
    struct.pack_into(fmt, changed, offset, *values)
    struct.pack_into("<I", changed, 60, 0)
    index_end = struct.unpack_from("<I", changed, 52)[0]
    struct.pack_into("<I", changed, 60, zlib.crc32(bytes(changed[:index_end])))
    return bytes(changed)


def _broken_headers() -> list[Case]:
    data = valid_blob()
    test = "test_reader_refuses_broken_headers"
    version = bytearray(data)
    struct.pack_into("<I", version, 8, 7)
    return [
        Case("shorter-than-the-header", test, data[:40], "shorter than", "shorter than the header"),
        Case("bad-magic", test, b"XXXXXXXX" + data[8:], "bad magic", "bad magic"),
        Case("one-byte-short", test, data[:-1], "blob_size", "blob_size differs from the linked size"),
        Case("one-byte-long", test, data + b"\0", "blob_size", "blob_size differs from the linked size"),
        Case("unknown-version-7", "test_reader_names_unknown_version", bytes(version),
             "version 7 is not supported", "version 7 is not supported"),
    ]


def _flipped_index_bytes() -> list[Case]:
    """Each byte of the index after the magic with bit 6 flipped, the index CRC-32 left as it was."""
    data = valid_blob()
    index_end = struct.unpack_from("<I", data, 52)[0]
    cases = []
    for offset in range(8, index_end):
        corrupt = bytearray(data)
        corrupt[offset] ^= 0x40
        cases.append(Case(f"index-byte-{offset}-flipped", "test_every_flipped_index_byte_is_caught", bytes(corrupt), None))
    return cases


def _dictionary_fields() -> list[Case]:
    test = "test_dictionary_fields_are_checked"
    without = ("without a dictionary", "dictionary offset or CRC without a dictionary")
    outside = ("outside the payloads", "dictionary outside the payloads")
    data = valid_blob()  # no dictionary: index_end is past 8, and the blob is far shorter than 4 GiB
    cases = [
        Case(name, test, rewrite_header(data, 72, "<III", *fields), *messages)
        for name, fields, messages in [
            ("dictionary-crc-without-a-dictionary", (0, 0, 5), without),
            ("dictionary-offset-without-a-dictionary", (16, 0, 0), without),
            ("dictionary-inside-the-index", (8, 100, 0), outside),
            ("dictionary-end-past-4-gib", (0xFFFFFFF0, 0x100, 0), outside),
        ]
    ]
    compressed = compressed_blob()
    offset, _, crc = struct.unpack_from("<III", compressed, 72)
    cases.append(Case("dictionary-one-byte-past-the-end", "test_dictionary_past_the_end_is_refused",
                      rewrite_header(compressed, 72, "<III", offset, len(compressed) - offset + 1, crc),
                      "dictionary .* outside the payloads", "dictionary outside the payloads"))
    return cases


def _payload_outside_blob() -> Case:
    data = bytearray(valid_blob())
    table_offset = struct.unpack_from("<I", data, 24)[0]
    struct.pack_into("<I", data, table_offset + 8, len(data) - 2)  # data_offset of entry 0
    struct.pack_into("<I", data, 60, 0)
    index_end = struct.unpack_from("<I", data, 52)[0]
    struct.pack_into("<I", data, 60, zlib.crc32(bytes(data[:index_end])))
    return Case("payload-outside-the-blob", "test_payload_outside_blob_is_refused", bytes(data),
                "outside the payloads", "entry payload outside the blob")


def _damaged_payloads() -> list[Case]:
    data = bytearray(valid_blob())
    data[r.Blob(bytes(data)).find("modules", "b").data_offset] ^= 1
    compressed = bytearray(compressed_blob())
    compressed[struct.unpack_from("<I", compressed, 72)[0] + 100] ^= 1
    return [
        Case("payload-byte-flipped", "test_flipped_payload_byte_is_caught_on_use", bytes(data),
             "CRC-32 mismatch in entry 'b'",
             checked_at_use="an entry's CRC-32 is checked the first time its payload is used "
                            "(rps_blob.c verify()), so a damaged payload fails that import, not start-up"),
        Case("dictionary-byte-flipped", "test_damaged_dictionary_is_refused_at_first_decompression", bytes(compressed),
             "dictionary CRC-32 mismatch",
             checked_at_use="the dictionary's CRC-32 is checked before the first COMPRESSED module is "
                            "decompressed (rps_blob.c zstd_prepare()), not at start-up"),
    ]


def _with_flags(tables: dict[str, list[r.Entry]], flags: int) -> bytes:
    """The blob of `tables` (one entry in all) with that entry's flags set to `flags`."""
    data = bytearray(r.write(tables))
    struct.pack_into("<I", data, r.HEADER.size + 24, flags)  # the first record follows the header
    return _with_index_crc(data)


def _with_index_crc(data: bytearray) -> bytes:
    index_end = struct.unpack_from("<I", data, 52)[0]
    struct.pack_into("<I", data, 60, r.index_crc(data[:index_end]))
    return bytes(data)


def _writer_refusals() -> list[Case]:
    """What the writer refuses to write (test_resources.py's writer tests), made by damaging a valid
    blob's index, so the readers meet it too."""
    test = "test_reader_refuses_what_the_writer_refuses"
    extension = {"modules": [r.Entry("m", b"\x7fELF....", b"o", r.EXTENSION)]}
    with_extension = "extension entry with namespace, source or compressed flags"
    reserved = "reserved entry flag bits set"
    cases = [
        Case(f"extension-with-{what}-flag", test, _with_flags(extension, r.EXTENSION | flag),
             f"modules entry 0: invalid flags {r.EXTENSION | flag:#x}", with_extension)
        for what, flag in [("source", r.SOURCE), ("namespace", r.NAMESPACE), ("compressed", r.COMPRESSED)]
    ]
    cases += [
        Case("library-with-extension-flag", test, _with_flags({"libraries": [r.Entry("libx.so", b"x")]}, r.EXTENSION),
             f"libraries entry 0: invalid flags {r.EXTENSION:#x}", reserved),
        Case("resource-with-package-flag", test, _with_flags({"resources": [r.Entry("p/a", b"")]}, r.PACKAGE),
             f"resources entry 0: invalid flags {r.PACKAGE:#x}", reserved),
        Case("compressed-resource", test,
             _with_flags({"resources": [r.Entry("p/a", struct.pack("<I", 1) + _FRAME)]}, r.COMPRESSED),
             f"resources entry 0: invalid flags {r.COMPRESSED:#x}", reserved),
        Case("compressed-module-without-a-length", test, _with_flags({"modules": [r.Entry("m", b"12")]}, r.COMPRESSED),
             f"modules entry 0: invalid flags {r.COMPRESSED:#x}", "compressed entry without a length"),
    ]
    # Duplicate names: the second entry's name made the first's.
    data = bytearray(r.write({"modules": [r.Entry("a", b"1"), r.Entry("b", b"2")]}))
    first = struct.unpack_from("<II", data, r.HEADER.size)
    struct.pack_into("<II", data, r.HEADER.size + r.ENTRY.size, *first)
    cases.append(Case("duplicate-module-names", test, _with_index_crc(data), "modules entry 1: names not strictly increasing",
                      "entry names not strictly increasing"))
    return cases


def _unknown_runtime_flags() -> list[Case]:
    """Runtime flag bits the format does not define (docs/resources-format.md, runtime flags)."""
    data = bytearray(valid_blob())
    struct.pack_into("<I", data, 56, 0x10 | r.RUNTIME_ISOLATED)
    return [Case("unknown-runtime-flags", "test_unknown_runtime_flags_are_refused", _with_index_crc(data),
                 r"unknown runtime flags 0x10 \(at offset 56\)", "unknown runtime flags set")]


@functools.cache
def cases() -> tuple[Case, ...]:
    """Every case, in a fixed order; names are unique."""
    every = (_broken_headers() + _flipped_index_bytes() + _dictionary_fields() + [_payload_outside_blob()]
             + _damaged_payloads() + _writer_refusals() + _unknown_runtime_flags())
    assert len({case.name for case in every}) == len(every)
    return tuple(every)


def cases_of(test: str) -> list[Case]:
    """The cases the test named `test` uses (at least one)."""
    selected = [case for case in cases() if case.test == test]
    assert selected, f"no damaged-blob case for {test}"
    return selected
