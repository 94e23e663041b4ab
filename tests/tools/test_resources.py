"""Unit tests of the packed resources format (tools/pack/resources.py, docs/resources-format.md)."""

import struct
import zlib

import pytest

from tools.pack import resources as r


def _blob():
    return r.write({
        "modules": [
            r.Entry("b", b"code-b", b"source-b", r.SOURCE),
            r.Entry("a", b"code-a", None, r.PACKAGE),
            r.Entry("a.ns", b"", None, r.PACKAGE | r.NAMESPACE),
        ],
        "resources": [r.Entry("a/data.txt", b"hello"), r.Entry("a/sub/x.bin", b"\0\1")],
        "metadata": [r.Entry("a-1.0.dist-info/METADATA", b"Name: a\n")],
    })


def test_round_trip_sorted_and_aligned():
    blob = r.Blob(_blob())
    assert [e.name for e in blob.tables["modules"]] == ["a", "a.ns", "b"]
    record = blob.find("modules", "b")
    data, source = blob.payload(record)
    assert bytes(data) == b"code-b" and bytes(source) == b"source-b"
    assert record.data_offset % r.ALIGNMENT == 0
    assert blob.payload(blob.find("modules", "a"))[1] is None
    assert bytes(blob.payload(blob.find("resources", "a/sub/x.bin"))[0]) == b"\0\1"
    assert blob.find("modules", "c") is None


def test_header_fields():
    data = _blob()
    magic, version, header_size, size = struct.unpack_from("<8sIIQ", data)
    assert (magic, version, header_size, size) == (b"RPSRES\x00\x1a", 4, 80, len(data))


def test_compressed_module_code_round_trips():
    code = bytes(range(256)) * 40
    blob = r.Blob(r.write({"modules": [r.Entry("m", r.compress_code(code), flags=r.COMPRESSED), r.Entry("n", b"plain")]}))
    record = blob.find("modules", "m")
    assert record.data_length < len(code) // 10
    assert blob.module_code(record) == code
    assert blob.module_code(blob.find("modules", "n")) == b"plain"


@pytest.mark.parametrize("payload, message", [
    (struct.pack("<I", 5) + zlib.compress(b"four"), "decompresses to 4 bytes, its header says 5"),
    (struct.pack("<I", 4) + b"not zlib", "does not decompress"),
])
def test_broken_compressed_payload_is_named(payload, message):
    blob = r.Blob(r.write({"modules": [r.Entry("m", payload, flags=r.COMPRESSED)]}))
    with pytest.raises(r.FormatError, match=message):
        blob.module_code(blob.find("modules", "m"))


def test_compressed_entry_needs_a_length():
    with pytest.raises(ValueError, match="flags"):
        r.write({"modules": [r.Entry("m", b"12", flags=r.COMPRESSED)]})
    with pytest.raises(ValueError, match="flags"):
        r.write({"resources": [r.Entry("p/a", r.compress_code(b"x"), flags=r.COMPRESSED)]})


def test_identical_payloads_stored_once():
    blob = r.write({"resources": [r.Entry("p/a", b"same" * 100), r.Entry("p/b", b"same" * 100)]})
    parsed = r.Blob(blob)
    a, b = parsed.tables["resources"]
    assert a.data_offset == b.data_offset


def test_writer_refuses_duplicates_and_bad_flags():
    with pytest.raises(ValueError, match="duplicate"):
        r.write({"modules": [r.Entry("a", b"1"), r.Entry("a", b"2")]})
    with pytest.raises(ValueError, match="flags"):
        r.write({"resources": [r.Entry("p/a", b"", flags=r.PACKAGE)]})


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b[:40], "shorter than"),
    (lambda b: b"XXXXXXXX" + b[8:], "bad magic"),
    (lambda b: b[:-1], "blob_size"),
    (lambda b: b + b"\0", "blob_size"),
])
def test_reader_refuses_broken_headers(mutate, message):
    with pytest.raises(r.FormatError, match=message):
        r.Blob(mutate(_blob()))


def test_reader_names_unknown_version():
    data = bytearray(_blob())
    struct.pack_into("<I", data, 8, 7)
    with pytest.raises(r.FormatError, match="version 7 is not supported"):
        r.Blob(bytes(data))


def test_every_flipped_index_byte_is_caught():
    data = _blob()
    index_end = struct.unpack_from("<I", data, 52)[0]
    for offset in range(8, index_end):
        corrupt = bytearray(data)
        corrupt[offset] ^= 0x40
        with pytest.raises(r.FormatError):
            r.Blob(bytes(corrupt))


def test_flipped_payload_byte_is_caught_on_use():
    data = bytearray(_blob())
    blob = r.Blob(bytes(data))
    record = blob.find("modules", "b")
    data[record.data_offset] ^= 1
    corrupt = r.Blob(bytes(data))  # the index is intact
    with pytest.raises(r.FormatError, match="CRC-32 mismatch in entry 'b'"):
        corrupt.payload(corrupt.find("modules", "b"))
    corrupt.payload(corrupt.find("modules", "a"))  # other entries stay usable


def test_payload_outside_blob_is_refused():
    data = bytearray(_blob())
    table_offset = struct.unpack_from("<I", data, 24)[0]
    struct.pack_into("<I", data, table_offset + 8, len(data) - 2)  # data_offset of entry 0
    struct.pack_into("<I", data, 60, 0)
    index_end = struct.unpack_from("<I", data, 52)[0]
    struct.pack_into("<I", data, 60, zlib.crc32(bytes(data[:index_end])))
    with pytest.raises(r.FormatError, match="outside the payloads"):
        r.Blob(bytes(data))


def test_extension_and_library_entries_round_trip():
    data = r.write({
        "modules": [r.Entry("pkg._speedups", b"\x7fELF-module", b"pkg-1.0.whl/pkg/_speedups.so\nlibdep.so", r.EXTENSION)],
        "libraries": [r.Entry("libdep.so", b"\x7fELF-library")],
    })
    blob = r.Blob(data)
    record = blob.find("modules", "pkg._speedups")
    payload, load_list = blob.payload(record)
    assert bytes(payload) == b"\x7fELF-module" and bytes(load_list).split(b"\n") == [b"pkg-1.0.whl/pkg/_speedups.so", b"libdep.so"]
    assert bytes(blob.payload(blob.find("libraries", "libdep.so"))[0]) == b"\x7fELF-library"
    assert blob.payload(blob.find("libraries", "libdep.so"))[1] is None


def test_library_cycle_patches_are_its_second_payload():
    blob = r.Blob(r.write({"libraries": [r.Entry("liba.so", b"\x7fELF-a", b"120 7 libb.so\n"), r.Entry("libb.so", b"\x7fELF-b")]}))
    assert bytes(blob.payload(blob.find("libraries", "liba.so"))[1]) == b"120 7 libb.so\n"
    assert blob.payload(blob.find("libraries", "libb.so"))[1] is None


@pytest.mark.parametrize("flags", [r.EXTENSION | r.SOURCE, r.EXTENSION | r.NAMESPACE, r.EXTENSION | r.COMPRESSED])
def test_extension_entries_refuse_other_flags(flags):
    with pytest.raises(ValueError, match="invalid flags"):
        r.write({"modules": [r.Entry("m", b"\x7fELF....", b"o", flags)]})


def test_library_entries_take_no_flags():
    with pytest.raises(ValueError, match="invalid flags"):
        r.write({"libraries": [r.Entry("libx.so", b"x", None, r.EXTENSION)]})
