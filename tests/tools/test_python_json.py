"""Unit tests of tools/formats/python_json.py (the PYTHON.json reader) against docs/python-json.md."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools.formats import python_json as pj


def minimal_doc() -> dict[str, Any]:
    """A valid format-8 document shaped like python-build-standalone's, with objs and inittab."""
    return {
        "version": "8",
        "target_triple": "x86_64-unknown-linux-gnu",
        "build_options": "pgo+lto",
        "python_version": "3.13.5",
        "python_major_minor_version": "3.13",
        "python_tag": "cp313",
        "python_bytecode_magic_number": "f30d0d0a",
        "python_exe": "install/bin/python3.13",
        "python_paths": {"stdlib": "install/lib/python3.13", "include": "install/include/python3.13"},
        "python_stdlib_test_packages": ["test", "test.support"],
        "python_extension_module_loading": ["builtin", "shared-library"],
        "libpython_link_mode": "static",
        "crt_features": ["glibc-dynamic", "glibc-max-symbol-version:2.17"],
        "licenses": ["Python-2.0"],
        "build_info": {
            "core": {
                "objs": ["build/Objects/abstract.o"],
                "links": [{"name": "dl", "system": True}],
                "static_lib": "install/lib/libpython3.13.a",
            },
            "extensions": {
                "_ssl": [{
                    "in_core": False,
                    "init_fn": "PyInit__ssl",
                    "objs": ["build/Modules/_ssl.o"],
                    "links": [{"name": "ssl", "path_static": "build/lib/libssl.a"}],
                    "required": False,
                    "variant": "default",
                    "license_paths": ["licenses/LICENSE.openssl.txt"],
                }],
                "_abc": [{"in_core": True, "init_fn": "PyInit__abc", "objs": [], "links": [], "required": True, "variant": "default"}],
            },
            "inittab_object": "build/Modules/config.o",
            "inittab_source": "build/Modules/config.c",
            "inittab_cflags": ["-DNDEBUG"],
            "object_file_format": "elf",
        },
    }


def make_tree(root: Path, doc: dict[str, Any]) -> Path:
    files = ["install/bin/python3.13", "install/lib/libpython3.13.a", "build/Objects/abstract.o",
             "build/Modules/_ssl.o", "build/lib/libssl.a", "build/Modules/config.c", "build/Modules/config.o"]
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    (root / "install/lib/python3.13").mkdir(parents=True, exist_ok=True)
    path = root / "PYTHON.json"
    path.write_text(json.dumps(doc))
    return path


def test_reads_a_python_build_standalone_style_document(tmp_path: Path) -> None:
    dist = pj.load(make_tree(tmp_path, minimal_doc()))
    assert dist.target_triple == "x86_64-unknown-linux-gnu"
    assert dist.bytecode_magic_number == bytes.fromhex("f30d0d0a")
    assert dist.glibc_max_symbol_version == (2, 17)
    assert dist.core_links == (pj.Link("dl", system=True),)
    assert dist.extensions["_ssl"][0].links[0].path_static == "build/lib/libssl.a"
    assert [e.name for e in dist.builtin_extensions()] == ["_abc"]
    assert dist.build_options == "pgo+lto"
    assert dist.stdlib == "install/lib/python3.13"


def test_numeric_version_8_is_accepted(tmp_path: Path) -> None:
    doc = minimal_doc()
    doc["version"] = 8
    assert pj.load(make_tree(tmp_path, doc)).version == "8"


@pytest.mark.parametrize("version", ["7", 9, "5", None])
def test_other_format_versions_are_refused_by_name(tmp_path: Path, version: Any) -> None:
    doc = minimal_doc()
    doc["version"] = version
    with pytest.raises(pj.PythonJsonError, match=f"format version {version!r} is not supported"):
        pj.load(make_tree(tmp_path, doc))


def _mutated(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(minimal_doc())
    change(doc)
    return doc


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("target_triple"), r"target_triple: missing"),
        (lambda d: d.update(target_triple="linux"), r"target_triple: 'linux' is not"),
        (lambda d: d.update(python_tag="cp312"), r"python_tag: 'cp312' does not match Python 3.13"),
        (lambda d: d.update(python_version="3.12.1"), r"python_version: '3.12.1' does not match"),
        (lambda d: d.update(python_bytecode_magic_number="zz"), r"python_bytecode_magic_number: 'zz' is not hex"),
        (lambda d: d.update(python_bytecode_magic_number="f30d0000"), r"4-byte magic ending"),
        (lambda d: d.update(python_exe="/usr/bin/python3"), r"python_exe: '/usr/bin/python3' must be a relative path"),
        (lambda d: d["python_paths"].update(stdlib="../lib"), r"python_paths.stdlib: '../lib' must be a relative path"),
        (lambda d: d.update(libpython_link_mode="both"), r"libpython_link_mode: 'both' is neither"),
        (lambda d: d.update(crt_features=["glibc-max-symbol-version:two"]), r"crt_features\[0\]: unknown feature"),
        (lambda d: d.update(python_extension_module_loading=["dll"]), r"unknown value\(s\) \['dll'\]"),
        (lambda d: d["build_info"]["core"].update(objs="abstract.o"), r"build_info.core.objs: expected list, got str"),
        (lambda d: d["build_info"]["extensions"]["_abc"][0].update(init_fn=None), r"_abc\[0\].init_fn: a built-in"),
        (lambda d: d["build_info"]["extensions"]["_ssl"][0]["links"][0].update(path_static="build/lib/libnope.a"),
         r"_ssl\[0\].links\[0\].path_static: build/lib/libnope.a does not exist"),
        (lambda d: d["build_info"]["extensions"]["_ssl"][0]["links"][0].update(system=True),
         r"sets more than one of"),
        (lambda d: d["build_info"]["extensions"].update(_x=[]), r"build_info.extensions._x: expected a non-empty array"),
        (lambda d: d["build_info"]["core"].pop("static_lib") and d["build_info"]["core"].update(objs=[]),
         r"a static libpython needs static_lib or objs"),
    ],
)
def test_each_violation_names_the_field(tmp_path: Path, change: Any, message: str) -> None:
    with pytest.raises(pj.PythonJsonError, match=message):
        pj.load(make_tree(tmp_path, _mutated(change)))


def test_missing_files_are_not_checked_without_a_root(tmp_path: Path) -> None:
    path = tmp_path / "PYTHON.json"
    path.write_text(json.dumps(minimal_doc()))
    assert pj.load(path, check_paths=False).python_exe == "install/bin/python3.13"
    with pytest.raises(pj.PythonJsonError, match="python_exe: install/bin/python3.13 does not exist"):
        pj.load(path)


def test_unreadable_and_invalid_json_are_reported(tmp_path: Path) -> None:
    with pytest.raises(pj.PythonJsonError, match="cannot read"):
        pj.load(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(pj.PythonJsonError, match="not valid JSON"):
        pj.load(bad)


def test_cli_summary_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = make_tree(tmp_path, minimal_doc())
    assert pj.main([str(path)]) == 0
    assert "CPython 3.13.5 for x86_64-unknown-linux-gnu" in capsys.readouterr().out
    doc = minimal_doc()
    doc["version"] = "7"
    path.write_text(json.dumps(doc))
    assert pj.main([str(path)]) == 1
    err = capsys.readouterr().err
    assert "format version '7' is not supported" in err and "Traceback" not in err


def test_cli_checks_the_files_it_names_unless_told_not_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "PYTHON.json"
    path.write_text(json.dumps(minimal_doc()))
    assert pj.main([str(path)]) == 1
    assert "python_exe: install/bin/python3.13 does not exist" in capsys.readouterr().err
    assert pj.main([str(path), "--no-path-checks", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["python_exe"] == "install/bin/python3.13"
