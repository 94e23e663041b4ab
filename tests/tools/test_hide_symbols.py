"""tools/hide_symbols: copies of static libraries whose symbols are all hidden, still linkable."""

import io
import json
import os
import subprocess
import types
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tools.hide_symbols import hide_symbols
from tools.formats import python_json

FIXTURE_SYMBOLS = {"fixture_data", "fixture_weak", "fixture_c_global", "fixture_asm_global", "PyFixture_Version"}


def _path(variable: str) -> str:
    return os.path.abspath(os.environ[variable])


def _members(data: bytes):
    """(name, offset, bytes) of every member, read independently of the tool."""
    assert data[:8] == b"!<arch>\n"
    pos = 8
    while pos < len(data):
        header = data[pos:pos + 60]
        assert header[58:60] == b"`\n"
        size = int(header[48:58])
        yield header[:16].rstrip(b" "), pos, data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)


def _visibility(data: bytes) -> dict[str, str]:
    """Defined global/weak symbol -> visibility, over the archive's ELF members (or of one object)."""
    found = {}
    objects = [data] if data[:4] == b"\x7fELF" else [m for n, _, m in _members(data) if n not in (b"/", b"//", b"/SYM64/")]
    for member in objects:
        for symbol in ELFFile(io.BytesIO(member)).get_section_by_name(".symtab").iter_symbols():
            if symbol["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK") and symbol["st_shndx"] != "SHN_UNDEF":
                found[symbol.name] = symbol["st_other"]["visibility"]
    return found


def _exported(binary: str) -> set[str]:
    with open(binary, "rb") as f:
        dynsym = ELFFile(f).get_section_by_name(".dynsym")
        return {s.name for s in dynsym.iter_symbols() if s.name and s["st_shndx"] != "SHN_UNDEF"} if dynsym else set()


def test_fixture_symbols_become_hidden():
    original = open(_path("FIXTURE_ARCHIVE"), "rb").read()
    hidden = open(_path("FIXTURE_HIDDEN"), "rb").read()
    before, after = _visibility(original), _visibility(hidden)
    assert FIXTURE_SYMBOLS <= set(before)
    assert before["fixture_asm_global"] == "STV_DEFAULT"  # what -fvisibility=hidden cannot change
    assert set(after) == set(before) and set(after.values()) == {"STV_HIDDEN"}
    # Same size, same members at the same offsets, same symbol index: only st_other bytes differ.
    assert len(hidden) == len(original)
    assert [(n, o, len(m)) for n, o, m in _members(hidden)] == [(n, o, len(m)) for n, o, m in _members(original)]
    index = {n: m for n, _, m in _members(original)}.get(b"/")
    assert index is None or index == {n: m for n, _, m in _members(hidden)}[b"/"]
    changed = sum(a != b for a, b in zip(original, hidden))
    assert changed == len(FIXTURE_SYMBOLS)


def test_hidden_copy_links_and_exports_nothing():
    exposed = subprocess.run([_path("EXPOSED")], capture_output=True, text=True, check=True)
    hidden = subprocess.run([_path("HIDDEN")], capture_output=True, text=True, check=True)
    assert hidden.stdout == exposed.stdout == "43\n"
    assert FIXTURE_SYMBOLS <= _exported(_path("EXPOSED"))  # -rdynamic exports the original's
    assert not FIXTURE_SYMBOLS & _exported(_path("HIDDEN"))


def test_hiding_twice_changes_nothing(tmp_path):
    again = tmp_path / "again.a"
    result = hide_symbols.hide_file(Path(_path("FIXTURE_HIDDEN")), again)
    assert result.hidden == 0 and result.members >= 2
    assert again.read_bytes() == open(_path("FIXTURE_HIDDEN"), "rb").read()


def _archive(*members: tuple[bytes, bytes], magic: bytes = b"!<arch>\n") -> bytes:
    out = magic
    for name, data in members:
        out += name.ljust(16) + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6) + b"644".ljust(8)
        out += str(len(data)).encode().ljust(10) + b"`\n" + data + (b"\n" if len(data) % 2 else b"")
    return out


def _object() -> bytes:
    """The fixture's C object, taken from the real archive."""
    for name, _, member in _members(open(_path("FIXTURE_ARCHIVE"), "rb").read()):
        if member[:4] == b"\x7fELF" and "PyFixture_Version" in _visibility(member):
            return member
    raise AssertionError("no ELF member in the fixture archive")


@pytest.mark.parametrize(("data", "message"), [
    (b"!<thin>\n", "is a thin archive"),
    (b"PK\x03\x04 not an archive", "is not an ar archive"),
    (_archive((b"notes.txt/", b"hello"))[:-4], "runs past the end"),
    (_archive((b"notes.txt/", b"hello")), "is not an ELF object"),
    (_archive((b"lto.o/", b"BC\xc0\xde" + b"\0" * 12)), "is LLVM bitcode"),
    (_archive((b"#1/20", b"x" * 20)), "BSD-style member name"),
    (_archive((b"__.SYMDEF", b"x" * 8)), "BSD symbol index"),
    (b"!<arch>\n" + b"x" * 30, "truncated member header"),
    (b"!<arch>\n" + b"a.o/".ljust(58) + b"\n\n", "bad member header"),
    (b"!<arch>\n" + b"a.o/".ljust(48) + b"12x".ljust(10) + b"`\n", "has no valid size"),
    (b"!<arch>\n" + b"a.o/".ljust(48) + b"-60".ljust(10) + b"`\n", "has no valid size"),
])
def test_bad_archives_are_refused_by_name(tmp_path, capsys, data, message):
    source = tmp_path / "bad.a"
    source.write_bytes(data)
    assert hide_symbols.main(["--archive", str(source), "--out", str(tmp_path / "out.a")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and str(source) in err and "Traceback" not in err
    assert not (tmp_path / "out.a").exists()


def test_truncated_elf_member_is_refused(tmp_path, capsys):
    member = _object()
    source = tmp_path / "cut.a"
    source.write_bytes(_archive((b"cut.o/", member[:200])))
    assert hide_symbols.main(["--archive", str(source), "--out", str(tmp_path / "out.a")]) == 1
    assert "cut.o" in capsys.readouterr().err


def test_shared_object_member_is_refused(tmp_path, capsys):
    member = bytearray(_object())
    member[16] = 3  # e_type ET_DYN
    source = tmp_path / "so.a"
    source.write_bytes(_archive((b"lib.so/", bytes(member))))
    assert hide_symbols.main(["--archive", str(source), "--out", str(tmp_path / "out.a")]) == 1
    assert "not a relocatable object" in capsys.readouterr().err


def test_distribution_libraries_are_every_static_link_but_libpython():
    ssl = python_json.Link("ssl", "build/lib/libssl.a")
    mpdec = python_json.Link("mpdec", "build/lib/libmpdec.a")
    libpython = python_json.Link("python3.13", "build/lib/libpython3.13.a")
    decimal = python_json.Extension("_decimal", True, "PyInit__decimal", (), (mpdec, ssl), False, "default")
    dist = types.SimpleNamespace(
        core_static_lib=libpython.path_static,
        core_links=(libpython, ssl, python_json.Link("m", system=True)),
        extensions={"_decimal": (decimal,)},
    )
    assert hide_symbols.libraries(dist) == ["build/lib/libssl.a", "build/lib/libmpdec.a"]


def _python_json(objs: list[str]) -> dict:
    return {
        "version": "8", "target_triple": "x86_64-unknown-linux-gnu", "python_version": "3.13.5",
        "python_major_minor_version": "3.13", "python_tag": "cp313", "python_bytecode_magic_number": "f30d0d0a",
        "python_exe": "install/bin/python3.13", "python_paths": {"stdlib": "install/lib/python3.13"},
        "python_stdlib_test_packages": [], "python_extension_module_loading": ["builtin"],
        "libpython_link_mode": "static", "crt_features": [], "licenses": [], "build_options": "",
        "build_info": {
            "core": {"objs": objs, "static_lib": "build/lib/libpython3.13.a",
                     "links": [{"name": "ssl", "path_static": "build/lib/libssl.a"}, {"name": "m", "system": True}]},
            "extensions": {},
        },
    }


def test_distribution_objects_keep_only_the_c_api(tmp_path):
    """python-build-standalone's layout: libpython as objects, one of them LLVM bitcode (LTO)."""
    root = tmp_path / "python"
    for directory in ("install/bin", "install/lib/python3.13", "build/lib", "build/core"):
        (root / directory).mkdir(parents=True)
    (root / "install/bin/python3.13").write_bytes(b"")
    archive = open(_path("FIXTURE_ARCHIVE"), "rb").read()
    for name in ("libpython3.13.a", "libssl.a"):
        (root / "build/lib" / name).write_bytes(archive)
    (root / "build/core/fixture.o").write_bytes(_object())
    bitcode = b"BC\xc0\xde" + b"\1" * 60
    (root / "build/core/lto.o").write_bytes(bitcode)
    (root / "PYTHON.json").write_text(json.dumps(_python_json(["build/core/fixture.o", "build/core/lto.o"])))
    out = tmp_path / "out"
    assert hide_symbols.main(["--python-json", str(root / "PYTHON.json"), "--out", str(out)]) == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "build/core/fixture.o", "build/core/lto.o", "build/lib/libssl.a"]  # libpython: the API itself
    assert set(_visibility((out / "build/lib/libssl.a").read_bytes()).values()) == {"STV_HIDDEN"}
    objects = _visibility((out / "build/core/fixture.o").read_bytes())
    assert objects.pop("PyFixture_Version") == "STV_DEFAULT" and set(objects.values()) == {"STV_HIDDEN"}
    assert (out / "build/core/lto.o").read_bytes() == bitcode


def test_api_names():
    assert hide_symbols.is_c_api("PyLong_FromLong") and hide_symbols.is_c_api("_Py_NoneStruct")
    assert hide_symbols.is_c_api("PY_TIMEOUT_MAX")
    assert not hide_symbols.is_c_api("bn_mul_mont") and not hide_symbols.is_c_api("python_hashlib_Hacl_Hash_SHA2_update_256")
