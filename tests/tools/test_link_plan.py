"""Unit tests of tools/link_plan on a synthetic PYTHON.json."""

from pathlib import Path

import pytest

from tools.link_plan import link_plan
from tools.formats import python_json


def _doc(extensions, link_mode="static"):
    return {
        "version": "8", "target_triple": "x86_64-unknown-linux-gnu", "python_version": "3.13.5",
        "python_major_minor_version": "3.13", "python_tag": "cp313", "python_bytecode_magic_number": "f30d0d0a",
        "python_exe": "install/bin/python3.13", "python_paths": {"stdlib": "install/lib/python3.13"},
        "python_stdlib_test_packages": [], "python_extension_module_loading": ["builtin"],
        "libpython_link_mode": link_mode, "crt_features": [], "licenses": [], "build_options": "",
        "build_info": {
            "core": {"objs": ["build/core/main.o"], "static_lib": "build/lib/libpython3.13.a",
                     "links": [{"name": "z", "path_static": "build/lib/libz.a"},
                               {"name": "lzma", "path_static": "build/lib/liblzma.a"}, {"name": "m", "system": True}]},
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
    result = link_plan.plan(python_json.parse(doc), "D", set())
    assert result.link_args == ["D/build/ext/_ext.o", "D/build/lib/libpython3.13.a",
                                "D/build/lib/libssl.a", "D/build/lib/libz.a", "D/build/lib/liblzma.a", "-lm", "-ldl"]
    assert result.register == [("_ext", "PyInit__ext")]
    assert result.builtin_table is None
    source = link_plan.inittab_source(result)
    assert 'PyImport_AppendInittab("_ext", PyInit__ext)' in source
    assert "_PyImport_Inittab" not in source


def test_exporting_binaries_link_the_hidden_copies_of_all_but_libpython():
    doc = _doc({"_ssl": _ext(True, links=[{"name": "ssl", "path_static": "build/lib/libssl.a"}])})
    doc["build_info"]["core"]["objs"] = []
    result = link_plan.plan(python_json.parse(doc), "D", set(), export_c_api=True, hidden_libraries="H")
    assert result.link_args == ["-Wl,--whole-archive", "D/build/lib/libpython3.13.a", "-Wl,--no-whole-archive",
                                "H/build/lib/libssl.a", "H/build/lib/libz.a", "H/build/lib/liblzma.a", "-lm"]
    doc["build_info"]["core"]["objs"] = ["build/core/main.o"]
    args = link_plan.plan(python_json.parse(doc), "D", set(), export_c_api=True, hidden_libraries="H").link_args
    assert args == ["H/build/core/main.o", "H/build/lib/libssl.a", "H/build/lib/libz.a", "H/build/lib/liblzma.a", "-lm"]


def test_libraries_for_embedding_link_the_hidden_copies_without_exporting():
    doc = _doc({"_ssl": _ext(True, links=[{"name": "ssl", "path_static": "build/lib/libssl.a"}])})
    doc["build_info"]["core"]["objs"] = []
    args = link_plan.plan(python_json.parse(doc), "D", set(), hidden_libraries="H").link_args
    assert args == ["D/build/lib/libpython3.13.a", "H/build/lib/libssl.a", "H/build/lib/libz.a", "H/build/lib/liblzma.a", "-lm"]


def test_liblzma_is_linked_when_only_the_excluded_lzma_module_lists_it(tmp_path: Path):
    # python-build-standalone lists liblzma as the _lzma module's link; the runtime's CRC-32 needs it.
    lzma_link = {"name": "lzma", "path_static": "build/lib/liblzma.a"}
    doc = _doc({"_core": _ext(True, init_fn="PyInit__core"), "_lzma": _ext(True, init_fn="PyInit__lzma", links=[lzma_link])})
    doc["build_info"]["core"]["links"] = [{"name": "m", "system": True}]
    doc["build_info"]["core"]["objs"] = []
    result = link_plan.plan(_with_config_c(tmp_path, doc), str(tmp_path), {"_lzma"})
    assert result.link_args == [f"{tmp_path}/build/lib/libpython3.13.a", f"{tmp_path}/build/lib/liblzma.a", "-lm"]
    assert "PyInit__lzma" not in link_plan.inittab_source(result)
    args = link_plan.plan(python_json.parse(doc), "D", set(), hidden_libraries="H").link_args
    assert args == ["D/build/lib/libpython3.13.a", "H/build/lib/liblzma.a", "-lm"]


def test_a_distribution_without_liblzma_is_refused():
    doc = _doc({"_core": _ext(True)})
    doc["build_info"]["core"]["links"] = [{"name": "lzma", "system": True}]  # only a shared one
    with pytest.raises(link_plan.LinkPlanError, match="no static liblzma.*lzma_crc32"):
        link_plan.plan(python_json.parse(doc), "D", set())


def test_core_objects_replace_the_archive_and_bring_the_inittab():
    doc = _doc({"_core": _ext(True)})
    doc["build_info"]["inittab_object"] = "build/core/config.o"
    args = link_plan.plan(python_json.parse(doc), "D", set()).link_args
    assert args[:2] == ["D/build/core/main.o", "D/build/core/config.o"]
    assert "D/build/lib/libpython3.13.a" not in args


def test_shared_libpython_is_refused():
    with pytest.raises(link_plan.LinkPlanError, match="static libpython"):
        link_plan.plan(python_json.parse(_doc({}, link_mode="shared")), "D", set())


_CONFIG_C = """
struct _inittab _PyImport_Inittab[] = {
    {"_ssl", PyInit__ssl},
    {"_core", PyInit__core},
    {"marshal", PyMarshal_Init},
/* -- ADDMODULE MARKER 2 -- */
    {"builtins", NULL},
    {"sys", NULL},
    {0, 0}
};
"""


def _with_config_c(tmp_path: Path, doc: dict) -> python_json.Distribution:
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "config.c").write_text(_CONFIG_C)
    doc["build_info"]["inittab_source"] = "build/config.c"
    return python_json.parse(doc)


def test_excluding_a_core_extension_replaces_the_builtin_table(tmp_path: Path):
    ssl_link = {"name": "ssl", "path_static": "build/lib/libssl.a"}
    doc = _doc({"_core": _ext(True, init_fn="PyInit__core"), "_ssl": _ext(True, init_fn="PyInit__ssl", links=[ssl_link])})
    doc["build_info"]["core"]["objs"] = []
    result = link_plan.plan(_with_config_c(tmp_path, doc), str(tmp_path), {"_ssl"})
    assert result.builtin_table == [("_core", "PyInit__core"), ("marshal", "PyMarshal_Init"),
                                    ("builtins", None), ("sys", None)]
    assert not any("libssl" in arg for arg in result.link_args)
    source = link_plan.inittab_source(result)
    assert '{"marshal", PyMarshal_Init},' in source and '{"sys", NULL},' in source
    assert "PyInit__ssl" not in source


def test_generated_table_replaces_the_inittab_object(tmp_path: Path):
    doc = _doc({"_core": _ext(True, init_fn="PyInit__core"), "_ssl": _ext(True, init_fn="PyInit__ssl")})
    doc["build_info"]["inittab_object"] = "build/config.c"  # any existing file
    result = link_plan.plan(_with_config_c(tmp_path, doc), str(tmp_path), {"_ssl"})
    assert result.link_args == [f"{tmp_path}/build/core/main.o", f"{tmp_path}/build/lib/libz.a", f"{tmp_path}/build/lib/liblzma.a", "-lm"]


@pytest.mark.parametrize("name, message", [
    ("_io", "required to start the interpreter"),
    ("_nope", "has no such module"),
])
def test_excluding_what_cannot_be_excluded_is_refused(name, message):
    with pytest.raises(link_plan.LinkPlanError, match=message):
        link_plan.plan(python_json.parse(_doc({"_io": _ext(True)})), "D", {name})


def test_excluding_a_core_extension_needs_the_inittab_source():
    with pytest.raises(link_plan.LinkPlanError, match="inittab_source"):
        link_plan.plan(python_json.parse(_doc({"_core": _ext(True)})), "D", {"_core"})


def test_inittab_source_without_entries_is_refused(tmp_path: Path):
    doc = _doc({"_core": _ext(True)})
    (tmp_path / "config.c").write_text("/* not config.c */")
    doc["build_info"]["inittab_source"] = "config.c"
    with pytest.raises(link_plan.LinkPlanError, match="no _PyImport_Inittab entries"):
        link_plan.plan(python_json.parse(doc), str(tmp_path), {"_core"})


def test_cli_bad_json_is_a_message(tmp_path: Path, capsys):
    bad = tmp_path / "PYTHON.json"
    bad.write_text("{")
    assert link_plan.main(["--python-json", str(bad), "--params", str(tmp_path / "p"), "--inittab", str(tmp_path / "i.c")]) == 1
    assert "not valid JSON" in capsys.readouterr().err
