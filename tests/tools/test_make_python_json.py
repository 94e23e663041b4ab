"""Unit tests of tools/python_json/make_python_json.py on a synthetic CPython build tree."""

import json
import shutil
from pathlib import Path

import pytest

from tools.python_json import make_python_json as mpj
from tools.formats import python_json as pj

CONFIG_C = """
struct _inittab _PyImport_Inittab[] = {
    {"_abc", PyInit__abc},
    {"_ssl", PyInit__ssl},
    {"marshal", PyMarshal_Init},
    {"sys", NULL},
    {0, 0}
};
"""

MAKEFILE = """
MODULE__SSL_LDFLAGS=-L/tmp/x/openssl/lib -lssl -lcrypto
MODULE_MATH_LDFLAGS=-lm
MODULE__ABC_LDFLAGS=
"""


def build_tree(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "Python-3.13.5"
    (src / "Modules").mkdir(parents=True)
    (src / "Modules/config.c").write_text(CONFIG_C)
    (src / "Makefile").write_text(MAKEFILE)
    (src / "Lib/importlib").mkdir(parents=True)
    (src / "Lib/importlib/_bootstrap_external.py").write_text("MAGIC_NUMBER = (3571).to_bytes(2, 'little') + b'\\r\\n'\n")
    root = tmp_path / "python"
    stdlib = root / "install/lib/python3.13"
    for package in ("test", "test/support", "unittest", "idlelib/idle_test", "email/tests"):
        (stdlib / package).mkdir(parents=True)
        (stdlib / package / "__init__.py").write_text("")
    (stdlib / "_sysconfigdata__linux_x86_64-linux-gnu.py").write_text(
        "build_time_vars = {'VERSION': '3.13', 'ABIFLAGS': '', 'LIBS': '-ldl -lpthread', 'LIBM': '-lm',"
        " 'EXT_SUFFIX': '.cpython-313-x86_64-linux-gnu.so'}\n"
    )
    (root / "install/bin").mkdir(parents=True)
    # Any glibc ELF executable stands in for the interpreter; its symbol versions are measured.
    shutil.copy("/bin/true", root / "install/bin/python3.13")
    (root / "build/lib").mkdir(parents=True)
    for lib in ("python3.13", "ssl", "crypto"):
        (root / f"build/lib/lib{lib}.a").write_bytes(b"!<arch>\n")
    (root / "build/Modules").mkdir(parents=True)
    (root / "build/Modules/config.c").write_text(CONFIG_C)
    return root, src


def test_generated_document_passes_the_reader(tmp_path: Path) -> None:
    root, src = build_tree(tmp_path)
    doc = mpj.generate(root, src, "x86_64-unknown-linux-gnu", "gnu", "noopt")
    dist = pj.parse(doc, "generated", root)
    assert dist.python_version == "3.13.5"
    assert dist.bytecode_magic_number == (3571).to_bytes(2, "little") + b"\r\n"
    assert dist.core_static_lib == "build/lib/libpython3.13.a"
    assert {e.name: e.init_fn for e in dist.builtin_extensions()} == {
        "_abc": "PyInit__abc", "_ssl": "PyInit__ssl", "marshal": "PyMarshal_Init"}
    assert [link.path_static for link in dist.extensions["_ssl"][0].links] == ["build/lib/libssl.a", "build/lib/libcrypto.a"]
    assert pj.Link("dl", system=True) in dist.core_links
    assert dist.glibc_max_symbol_version is not None
    assert dist.stdlib_test_packages == ("email.tests", "idlelib.idle_test", "test", "test.support")


def test_musl_builds_are_marked_static(tmp_path: Path) -> None:
    root, src = build_tree(tmp_path)
    doc = mpj.generate(root, src, "x86_64-unknown-linux-musl", "musl", "noopt+static")
    assert doc["crt_features"] == ["static"]


def test_unknown_library_is_an_error(tmp_path: Path) -> None:
    root, src = build_tree(tmp_path)
    (src / "Makefile").write_text("MODULE__SSL_LDFLAGS=-lmystery\n")
    with pytest.raises(mpj.GenerateError, match="library 'mystery' is neither shipped"):
        mpj.generate(root, src, "x86_64-unknown-linux-gnu", "gnu", "noopt")


def test_magic_number_from_the_3_14_header(tmp_path: Path) -> None:
    (tmp_path / "Include/internal").mkdir(parents=True)
    (tmp_path / "Include/internal/pycore_magic_number.h").write_text("#define PYC_MAGIC_NUMBER 3627\n")
    assert mpj.magic_number(tmp_path) == (3627).to_bytes(2, "little") + b"\r\n"


def test_main_writes_the_file_and_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, src = build_tree(tmp_path)
    args = ["--root", str(root), "--src", str(src), "--target-triple", "x86_64-unknown-linux-gnu", "--libc", "gnu"]
    assert mpj.main(args) == 0
    assert json.loads((root / "PYTHON.json").read_text())["build_options"] == "noopt"
    (src / "Modules/config.c").write_text("nothing\n")
    assert mpj.main(args) == 1
    err = capsys.readouterr().err
    assert "lists no built-in modules" in err and "Traceback" not in err


def _archive(members: dict[str, bytes]) -> bytes:
    data = b"!<arch>\n"
    for name, body in members.items():
        data += f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{644:<8}{len(body):<10}`\n".encode() + body
        if len(body) & 1:
            data += b"\n"
    return data


def test_lto_builds_are_marked_as_llvm_bitcode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root, src = build_tree(tmp_path)
    libpython = root / "build/lib/libpython3.13.a"
    libpython.write_bytes(_archive({"a.o": b"\x7fELF" + b"\0" * 61, "b.o": b"BC\xc0\xde" + b"\0" * 12}))
    cc = tmp_path / "cc"
    cc.write_text("#!/bin/sh\necho 'clang version 22.1.8 (https://github.com/ziglang/zig-bootstrap)'\n")
    cc.chmod(0o755)
    args = ["--root", str(root), "--src", str(src), "--target-triple", "x86_64-unknown-linux-musl", "--libc", "musl",
            "--cc", str(cc)]
    assert mpj.main(args) == 0
    doc = json.loads((root / "PYTHON.json").read_text())
    assert (doc["build_options"], doc["build_info"]["object_file_format"]) == ("lto+static", "llvm-bitcode:22.1.8")
    libpython.write_bytes(_archive({"a.o": b"\x7fELF" + b"\0" * 61}))
    assert mpj.main(args) == 0
    doc = json.loads((root / "PYTHON.json").read_text())
    assert (doc["build_options"], doc["build_info"]["object_file_format"]) == ("noopt+static", "elf")
    libpython.write_bytes(_archive({"b.o": b"BC\xc0\xde"}))
    assert mpj.main(args[:-1] + [str(tmp_path / "no-such-cc")]) == 1
    assert "cannot run" in capsys.readouterr().err
