"""Unit tests of the packed resources format (tools/formats/resources.py, docs/resources-format.md)."""

import struct
import zlib

import pytest
import zstandard

from tests.tools import damaged_blobs
from tools.formats import resources as r

_blob = damaged_blobs.valid_blob


def _each_case(test):
    """Runs `test` once for each damaged blob of tests/tools/damaged_blobs.py made for it (the C
    reader is checked against the same cases: tests/standalone/blob_fuzz.py)."""
    return pytest.mark.parametrize("case", damaged_blobs.cases_of(test.__name__), ids=lambda case: case.name)(test)


def _refused_on_opening(case):
    assert not case.checked_at_use
    with pytest.raises(r.FormatError, match=case.python):
        r.Blob(case.blob)


def test_every_damaged_blob_case_has_its_test():
    assert {case.test for case in damaged_blobs.cases()} <= {name for name in globals() if name.startswith("test_")}


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


@_each_case
def test_damaged_dictionary_is_refused_at_first_decompression(case):
    assert case.checked_at_use
    blob = r.Blob(case.blob)  # the index is intact
    assert blob.module_code(blob.find("modules", "plain")) == b"plain"
    with pytest.raises(r.FormatError, match=case.python):
        blob.module_code(blob.find("modules", "m000"))


@_each_case
def test_dictionary_fields_are_checked(case):
    _refused_on_opening(case)


@_each_case
def test_dictionary_past_the_end_is_refused(case):
    _refused_on_opening(case)


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


@_each_case
def test_reader_refuses_broken_headers(case):
    _refused_on_opening(case)


@_each_case
def test_reader_names_unknown_version(case):
    _refused_on_opening(case)


@_each_case
def test_every_flipped_index_byte_is_caught(case):
    _refused_on_opening(case)


@_each_case
def test_flipped_payload_byte_is_caught_on_use(case):
    assert case.checked_at_use
    corrupt = r.Blob(case.blob)  # the index is intact
    with pytest.raises(r.FormatError, match=case.python):
        corrupt.payload(corrupt.find("modules", "b"))
    corrupt.payload(corrupt.find("modules", "a"))  # other entries stay usable


@_each_case
def test_payload_outside_blob_is_refused(case):
    _refused_on_opening(case)


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


def test_writer_refuses_unknown_runtime_flags():
    with pytest.raises(ValueError, match="unknown runtime flags 0x8"):
        r.write({}, runtime_flags=8)


@_each_case
def test_unknown_runtime_flags_are_refused(case):
    _refused_on_opening(case)


@_each_case
def test_reader_refuses_what_the_writer_refuses(case):
    """The writer's refusals above (duplicate names, flags a table or an entry cannot have), put in a
    valid blob's index: the reader refuses them too."""
    _refused_on_opening(case)
