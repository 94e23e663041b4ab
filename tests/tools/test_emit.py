"""Unit tests of tools/emit: the object file is read back with pyelftools."""

import io

import pytest
from elftools.elf.elffile import ELFFile

from tools.emit import emit


@pytest.mark.parametrize("machine, e_machine", [("x86_64", "EM_X86_64"), ("aarch64", "EM_AARCH64")])
def test_elf_object_holds_the_blob_and_its_size(machine, e_machine):
    blob = bytes(range(256)) * 3 + b"tail"
    elf = ELFFile(io.BytesIO(emit.writer_for(machine).write(blob, "rps_resources")))
    assert elf["e_type"] == "ET_REL" and elf["e_machine"] == e_machine
    section = elf.get_section_by_name(".rodata.rps_resources")
    assert section["sh_flags"] == 2 and section["sh_addralign"] == 16  # SHF_ALLOC only: read-only
    symbols = {s.name: s for s in elf.get_section_by_name(".symtab").iter_symbols()}
    start, size = symbols["rps_resources"], symbols["rps_resources_size"]
    for symbol in (start, size):
        assert symbol["st_info"]["bind"] == "STB_GLOBAL" and symbol["st_other"]["visibility"] == "STV_HIDDEN"
    content = section.data()
    assert content[start["st_value"]:start["st_value"] + start["st_size"]] == blob
    assert int.from_bytes(content[size["st_value"]:size["st_value"] + 8], "little") == len(blob)
    assert elf.get_section_by_name(".note.GNU-stack") is not None


def test_cli_rejects_bad_symbol(tmp_path, capsys):
    (tmp_path / "b").write_bytes(b"x")
    with pytest.raises(SystemExit):
        emit.main(["--blob", str(tmp_path / "b"), "--machine", "x86_64", "--out", str(tmp_path / "o"), "--symbol", "1bad"])
    assert "not a C identifier" in capsys.readouterr().err


def test_cli_missing_blob_is_an_error_not_a_traceback(tmp_path, capsys):
    assert emit.main(["--blob", str(tmp_path / "missing"), "--machine", "x86_64", "--out", str(tmp_path / "o")]) == 1
    assert "cannot read the blob" in capsys.readouterr().err
