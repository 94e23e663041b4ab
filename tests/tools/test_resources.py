"""Unit tests of the packed resources format (tools/formats/resources.py, docs/resources-format.md)."""

import struct
import zlib

import pytest
import zstandard

from tools.formats import resources as r


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
    assert (magic, version, header_size, size) == (b"RPSRES\x00\x1a", 6, 96, len(data))
    assert struct.unpack_from("<I", data, 56) == (0,)  # no runtime flags
    assert struct.unpack_from("<III12s", data, 72) == (0, 0, 0, bytes(12))  # no dictionary


def _codes(count: int) -> list[bytes]:
    """Module-like payloads that share vocabulary, so a dictionary pays."""
    words = [b"import", b"def", b"return", b"self", b"class", b"lambda", b"yield", b"None"]
    return [b" ".join(words[(i * j) % len(words)] + str(i % 7).encode() for j in range(1500)) + bytes([i % 256])
            for i in range(count)]


def _compressed_blob(codes: list[bytes]) -> tuple[bytes, bytes]:
    dictionary, frames = r.compress_codes(codes)
    entries = [r.Entry(f"m{i:03}", frame, flags=r.COMPRESSED) for i, frame in enumerate(frames)]
    return r.write({"modules": entries + [r.Entry("plain", b"plain")]}, dictionary), dictionary


def test_compressed_module_code_round_trips_with_a_dictionary():
    codes = _codes(120)
    data, dictionary = _compressed_blob(codes)
    assert dictionary and zstandard.ZstdCompressionDict(dictionary).dict_id() != 0
    offset, length, crc = struct.unpack_from("<III", data, 72)
    assert (bytes(data[offset:offset + length]), crc) == (dictionary, zlib.crc32(dictionary))
    blob = r.Blob(data)
    for i, code in enumerate(codes):
        record = blob.find("modules", f"m{i:03}")
        assert record.data_length < len(code) // 10
        assert blob.module_code(record) == code
    assert blob.module_code(blob.find("modules", "plain")) == b"plain"


def test_few_modules_are_compressed_without_a_dictionary():
    code = bytes(range(256)) * 40
    dictionary, frames = r.compress_codes([code])
    assert dictionary == b""
    blob = r.Blob(r.write({"modules": [r.Entry("m", frames[0], flags=r.COMPRESSED)]}))
    assert blob.module_code(blob.find("modules", "m")) == code


def test_compression_is_deterministic():
    codes = _codes(60)
    assert r.compress_codes(codes) == r.compress_codes(list(codes))


def test_damaged_dictionary_is_refused_at_first_decompression():
    data, dictionary = _compressed_blob(_codes(60))
    offset = struct.unpack_from("<I", data, 72)[0]
    damaged = bytearray(data)
    damaged[offset + 100] ^= 1
    blob = r.Blob(bytes(damaged))  # the index is intact
    assert blob.module_code(blob.find("modules", "plain")) == b"plain"
    with pytest.raises(r.FormatError, match="dictionary CRC-32 mismatch"):
        blob.module_code(blob.find("modules", "m000"))


def _rewrite_header(data: bytes, offset: int, fmt: str, *values) -> bytes:
    changed = bytearray(data)
    struct.pack_into(fmt, changed, offset, *values)
    struct.pack_into("<I", changed, 60, 0)
    index_end = struct.unpack_from("<I", changed, 52)[0]
    struct.pack_into("<I", changed, 60, zlib.crc32(bytes(changed[:index_end])))
    return bytes(changed)


@pytest.mark.parametrize("fields, message", [
    ((0, 0, 5), "without a dictionary"),
    ((16, 0, 0), "without a dictionary"),
    ((8, 100, 0), "outside the payloads"),
    ((0xFFFFFFF0, 0x100, 0), "outside the payloads"),
])
def test_dictionary_fields_are_checked(fields, message):
    data = _rewrite_header(_blob(), 72, "<III", *fields)
    with pytest.raises(r.FormatError, match=message):
        r.Blob(data)


def test_dictionary_past_the_end_is_refused():
    data, _ = _compressed_blob(_codes(60))
    offset, length, crc = struct.unpack_from("<III", data, 72)
    with pytest.raises(r.FormatError, match="dictionary .* outside the payloads"):
        r.Blob(_rewrite_header(data, 72, "<III", offset, len(data) - offset + 1, crc))


def _frame(code: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=False).compress(code)


@pytest.mark.parametrize("payload, message", [
    (struct.pack("<I", 5) + _frame(b"four"), "decompresses to 4 bytes, its header says 5"),
    (struct.pack("<I", 4) + b"not zstd", "does not decompress"),
    (struct.pack("<I", 3) + _frame(b"four"), "does not decompress"),
])
def test_broken_compressed_payload_is_named(payload, message):
    blob = r.Blob(r.write({"modules": [r.Entry("m", payload, flags=r.COMPRESSED)]}))
    with pytest.raises(r.FormatError, match=f"entry 'm' {message}"):
        blob.module_code(blob.find("modules", "m"))


def test_frame_of_another_dictionary_is_named():
    codes = _codes(60)
    theirs, frames = r.compress_codes([code.upper() for code in codes])
    ours, _ = r.compress_codes(codes)
    assert theirs and ours and zstandard.ZstdCompressionDict(theirs).dict_id() != zstandard.ZstdCompressionDict(ours).dict_id()
    blob = r.Blob(r.write({"modules": [r.Entry("m", frames[0], flags=r.COMPRESSED)]}, ours))
    with pytest.raises(r.FormatError, match="entry 'm' does not decompress"):
        blob.module_code(blob.find("modules", "m"))


def test_compressed_entry_needs_a_length():
    with pytest.raises(ValueError, match="flags"):
        r.write({"modules": [r.Entry("m", b"12", flags=r.COMPRESSED)]})
    with pytest.raises(ValueError, match="flags"):
        r.write({"resources": [r.Entry("p/a", struct.pack("<I", 1) + _frame(b"x"), flags=r.COMPRESSED)]})


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


def test_runtime_flags_round_trip():
    flags = r.RUNTIME_ISOLATED | r.RUNTIME_FULL_FINALIZATION
    data = r.write({"modules": [r.Entry("m", b"\xe3")]}, runtime_flags=flags)
    assert struct.unpack_from("<I", data, 56)[0] == flags
    assert r.Blob(data).runtime_flags == flags
    assert r.Blob(r.write({})).runtime_flags == 0


def test_unknown_runtime_flags_are_refused():
    with pytest.raises(ValueError, match="unknown runtime flags 0x8"):
        r.write({}, runtime_flags=8)
    data = bytearray(r.write({}))
    struct.pack_into("<I", data, 56, 0x10 | r.RUNTIME_ISOLATED)
    struct.pack_into("<I", data, 60, r.index_crc(data[:struct.unpack_from("<I", data, 52)[0]]))
    with pytest.raises(r.FormatError, match=r"unknown runtime flags 0x10 \(at offset 56\)"):
        r.Blob(bytes(data))
