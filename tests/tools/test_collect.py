"""Unit tests of tools/collect: files -> module names, resources and metadata."""

import pytest

from tools.collect import collect


def _map(paths, roots):
    return collect.map_files([(p, "/x/" + p, p) for p in paths], roots)


def test_names_packages_and_namespaces():
    result = _map(["r/app/main.py", "r/app/pkg/__init__.py", "r/app/pkg/mod.py", "r/app/ns/sub/m.py"], ["r/app"])
    names = {m.name: m for m in result.modules}
    assert set(names) == {"main", "pkg", "pkg.mod", "ns", "ns.sub", "ns.sub.m"}
    assert names["pkg"].is_package and names["pkg"].path.endswith("__init__.py")
    assert names["ns"].path is None and names["ns"].is_package


def test_a_file_under_two_roots_gets_both_names():
    result = _map(["_main/examples/hello/hello.py"], ["_main/examples/hello", "_main"])
    assert {m.name for m in result.modules} >= {"hello", "examples.hello.hello"}


def test_invalid_names_are_skipped():
    result = _map(["repo/site-packages/requests/__init__.py"], ["repo", "repo/site-packages"])
    assert [m.name for m in result.modules] == ["requests"]


def test_module_files_need_only_an_importable_name():
    # sysconfig imports this one with __import__()
    result = _map(["s/_sysconfigdata__linux_x86_64-linux-gnu.py", "s/bad-dir/m.py"], ["s"])
    assert [m.name for m in result.modules] == ["_sysconfigdata__linux_x86_64-linux-gnu"]


def test_two_files_one_name_fail_naming_both():
    with pytest.raises(collect.CollectError, match="r/a/util.py and r/b/util.py"):
        _map(["r/a/util.py", "r/b/util.py"], ["r/a", "r/b"])


def test_resources_belong_to_the_deepest_regular_package():
    result = _map(["r/pkg/__init__.py", "r/pkg/data/icons/a.png", "r/pkg/sub/__init__.py", "r/pkg/sub/x.txt",
                   "r/loose.txt"], ["r"])
    assert [x.name for x in result.resources] == ["pkg.sub/x.txt", "pkg/data/icons/a.png"]
    assert result.unowned == ["r/loose.txt"]


def test_dist_info_is_metadata():
    result = _map(["p/site-packages/req/__init__.py", "p/site-packages/req-1.0.dist-info/METADATA"], ["p/site-packages"])
    assert [x.name for x in result.metadata] == ["req-1.0.dist-info/METADATA"]


def test_stdlib_tree(tmp_path):
    for rel in ["os.py", "json/__init__.py", "json/decoder.py", "LICENSE.txt", "__pycache__/os.cpython-313.pyc",
                "lib-dynload/x.so", "site-packages/foo/__init__.py", "config-3.13-x86_64-linux-gnu/Makefile",
                "email/architecture.rst"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    result = collect.stdlib_module_set(str(tmp_path))
    assert [m.name for m in result.modules] == ["json", "json.decoder", "os"]
    assert [x.name for x in result.resources] == []  # email has no __init__.py here: not a package
    assert result.modules[0].origin == "<stdlib>/json/__init__.py"
