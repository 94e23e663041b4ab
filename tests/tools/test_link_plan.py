"""Unit tests of tools/link_plan on a synthetic PYTHON.json."""

import json
from pathlib import Path

import pytest

from tools.link_plan import link_plan
from tools.python_json import python_json


def _doc(extensions, link_mode="static"):
    return {
        "version": "8", "target_triple": "x86_64-unknown-linux-gnu", "python_version": "3.13.5",
        "python_major_minor_version": "3.13", "python_tag": "cp313", "python_bytecode_magic_number": "f30d0d0a",
        "python_exe": "install/bin/python3.13", "python_paths": {"stdlib": "install/lib/python3.13"},
        "python_stdlib_test_packages": [], "python_extension_module_loading": ["builtin"],
        "libpython_link_mode": link_mode, "crt_features": [], "licenses": [], "build_options": "",
        "build_info": {
            "core": {"objs": ["build/core/main.o"], "static_lib": "build/lib/libpython3.13.a",
                     "links": [{"name": "z", "path_static": "build/lib/libz.a"}, {"name": "m", "system": True}]},
            "extensions": extensions,
        },
    }


def _ext(in_core, **kw):
    base = {"in_core": in_core, "init_fn": "PyInit_x", "links": [], "objs": [], "required": False, "variant": "default"}
    base.update(kw)
    return [base]


def test_plan_orders_objects_libpython_then_libraries():
    doc = _doc({
        "_core": _ext(True),
        "_ext": _ext(False, init_fn="PyInit__ext", objs=["build/ext/_ext.o"],
                     links=[{"name": "ssl", "path_static": "build/lib/libssl.a"}, {"name": "dl", "system": True}]),
    })
    doc["build_info"]["core"]["objs"] = []
    args, register = link_plan.plan(python_json.parse(doc), "D", set())
    assert args == ["D/build/ext/_ext.o", "D/build/lib/libpython3.13.a",
                    "D/build/lib/libssl.a", "D/build/lib/libz.a", "-lm", "-ldl"]
    assert register == [("_ext", "PyInit__ext")]
    source = link_plan.inittab_source(register)
    assert 'PyImport_AppendInittab("_ext", PyInit__ext)' in source


def test_core_objects_replace_the_archive_and_bring_the_inittab():
    doc = _doc({"_core": _ext(True)})
    doc["build_info"]["inittab_object"] = "build/core/config.o"
    args, _ = link_plan.plan(python_json.parse(doc), "D", set())
    assert args[:2] == ["D/build/core/main.o", "D/build/core/config.o"]
    assert "D/build/lib/libpython3.13.a" not in args


def test_shared_libpython_is_refused():
    with pytest.raises(link_plan.LinkPlanError, match="static libpython"):
        link_plan.plan(python_json.parse(_doc({}, link_mode="shared")), "D", set())


def test_excluding_a_core_extension_is_refused():
    with pytest.raises(link_plan.LinkPlanError, match="built into libpython"):
        link_plan.plan(python_json.parse(_doc({"_core": _ext(True)})), "D", {"_core"})


def test_cli_bad_json_is_a_message(tmp_path: Path, capsys):
    bad = tmp_path / "PYTHON.json"
    bad.write_text("{")
    assert link_plan.main(["--python-json", str(bad), "--params", str(tmp_path / "p"), "--inittab", str(tmp_path / "i.c")]) == 1
    assert "not valid JSON" in capsys.readouterr().err
