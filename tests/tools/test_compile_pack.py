"""Unit tests of tools/compile and tools/pack, run on the test's own interpreter."""

import json
import marshal
import sys

import pytest

from tools.collect import collect
from tools.compile import compile as compile_tool
from tools.formats import bundle as bundle_format
from tools.formats import python_json
from tools.formats import resources
from tools.pack import pack


def _write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def stdlib(tmp_path):
    lib = tmp_path / "lib"
    _write(lib, {
        "os.py": "import stat\n",
        "stat.py": "",
        "json/__init__.py": "from .decoder import JSONDecoder\n",
        "json/decoder.py": "import re\n",
        "re.py": "",
        "unused.py": "",
        "encodings/__init__.py": "",
        "encodings/utf_8.py": "",
        "test/__init__.py": "",
        "test/badsyntax_x.py": "from __future__ import nonsense\n",
        "test/leakers/__init__.py": "",
        "test/leakers/README.txt": "the stdlib's",
        "tkinter/__init__.py": "",
    })
    out = tmp_path / "stdlib.bundle"
    assert compile_tool.main(["--stdlib", str(lib), "--out", str(out), "--jobs", "1"]) == 0
    return out


def _app(tmp_path, files, roots=("_main/app", "_main"), data=()):
    """The program `files` and the manifest the rules would write for it (JSON lines)."""
    app = tmp_path / "app"
    _write(app, files)
    lines = [{"manifest": "rps-manifest-1", "label": "//app", "main_root": roots[0], "modules": []}]
    lines += [{"root": root} for root in roots[1:]]
    lines += [{"file": {"rlocation": "_main/app/" + rel, "path": str(app / rel), "origin": "app/" + rel}}
              for rel in files if rel.endswith(".py")]
    lines += [{"data": {"rlocation": "_main/app/" + rel, "path": str(app / rel), "origin": "app/" + rel}} for rel in data]
    path = tmp_path / "manifest.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _pack(tmp_path, stdlib, app_bundle, *extra):
    out, report = tmp_path / "blob", tmp_path / "report.json"
    code = pack.main(["--stdlib-bundle", str(stdlib), "--app-bundle", str(app_bundle), "--main", "main",
                      "--out", str(out), "--report", str(report), *extra])
    return code, out, report


def _python_json(tmp_path, test_packages=(), extensions=None):
    """A small valid PYTHON.json (docs/python-json.md) for pack's --python-json."""
    doc = {
        "version": "8", "target_triple": "x86_64-unknown-linux-gnu", "python_version": "3.13.5",
        "python_major_minor_version": "3.13", "python_tag": "cp313", "python_bytecode_magic_number": "f30d0d0a",
        "python_exe": "install/bin/python3.13", "python_paths": {"stdlib": "install/lib/python3.13"},
        "python_stdlib_test_packages": list(test_packages), "python_extension_module_loading": ["builtin"],
        "libpython_link_mode": "static", "crt_features": [], "licenses": [], "build_options": "",
        "build_info": {
            "core": {"objs": [], "static_lib": "build/lib/libpython3.13.a", "links": []},
            "extensions": extensions or {},
        },
    }
    path = tmp_path / "PYTHON.json"
    path.write_text(json.dumps(doc))
    return path


def test_compile_and_pack(tmp_path, stdlib):
    manifest = _app(tmp_path, {"main.py": "import json\nprint('hi')\n", "pkg/__init__.py": "", "pkg/d.txt": "x"},
                    data=["pkg/d.txt"])
    bundle = tmp_path / "app.bundle"
    assert compile_tool.main(["--manifest", str(manifest), "--out", str(bundle)]) == 0
    python_json = _python_json(tmp_path, test_packages=["test"])
    code, out, report = _pack(tmp_path, stdlib, bundle, "--python-json", str(python_json))
    assert code == 0
    blob = resources.Blob(out.read_bytes())
    names = [r.name for r in blob.tables["modules"]]
    assert "main" in names and "app.main" in names and "json.decoder" in names
    assert "test" not in names and "tkinter" not in names  # excluded by default
    data, source = blob.payload(blob.find("modules", "main"))
    assert source is None  # no sources unless asked
    assert marshal.loads(data).co_filename == "app/main.py"
    assert bytes(blob.payload(blob.find("resources", "pkg/d.txt"))[0]) == b"x"
    listed = json.loads(report.read_text())
    assert {"name": "tkinter", "origin": "<stdlib>/tkinter/__init__.py",
            "reason": "excluded by default ('tkinter'); stdlib_include re-adds it"} in listed["excluded"]
    # Which packed files are reachable by path under the binary: data yes, sourceless modules no.
    paths = {e["name"]: e.get("path") for table in ("modules", "resources") for e in listed[table]}
    assert paths["pkg/d.txt"] == "pkg/d.txt" and paths["main"] is None
    code, out, report = _pack(tmp_path, stdlib, bundle, "--sources")
    paths = {e["name"]: e.get("path") for e in json.loads(report.read_text())["modules"]}
    assert paths["main"] == "main.py" and paths["pkg"] == "pkg/__init__.py" and paths["json.decoder"] == "json/decoder.py"


def test_prune_keeps_what_imports_reach(tmp_path, stdlib):
    manifest = _app(tmp_path, {"main.py": "import json\n"})
    bundle = tmp_path / "app.bundle"
    compile_tool.main(["--manifest", str(manifest), "--out", str(bundle)])
    code, out, report = _pack(tmp_path, stdlib, bundle, "--prune")
    assert code == 0
    names = {r.name for r in resources.Blob(out.read_bytes()).tables["modules"]}
    assert {"json", "json.decoder", "re", "encodings", "encodings.utf_8"} <= names
    assert "unused" not in names and "os" not in names
    reasons = {m["name"]: m["reason"] for m in json.loads(report.read_text())["modules"]}
    assert reasons["re"] == "imported by json.decoder"


def test_prune_follows_the_stdlibs_lazy_imports_of_plain_modules_only(tmp_path):
    lib = tmp_path / "lib"
    _write(lib, {
        # argparse's shape: gettext and the help formatter import locale and shutil when called.
        "argparse.py": "import gettext\ndef help():\n    import shutil\n    import email.parser\n",
        "gettext.py": "def find():\n    import locale\n",
        "locale.py": "import encodings\n",
        "shutil.py": "import stat\ndef unpack():\n    import tarfile\n",
        "stat.py": "", "tarfile.py": "", "encodings/__init__.py": "",
        "email/__init__.py": "", "email/parser.py": "",
        # Reached by a lazy import only: its own lazy imports are not followed.
        "quiet.py": "def f():\n    import loud\n", "loud.py": "",
        "user.py": "def f():\n    import quiet\n",
    })
    stdlib = tmp_path / "stdlib.bundle"
    assert compile_tool.main(["--stdlib", str(lib), "--out", str(stdlib), "--jobs", "1"]) == 0
    manifest = _app(tmp_path, {"main.py": "import argparse, user\n"})
    bundle = tmp_path / "app.bundle"
    compile_tool.main(["--manifest", str(manifest), "--out", str(bundle)])
    code, out, report = _pack(tmp_path, stdlib, bundle, "--prune")
    assert code == 0
    reasons = {m["name"]: m["reason"] for m in json.loads(report.read_text())["modules"]}
    assert reasons["locale"] == "imported inside a function of gettext"
    assert reasons["shutil"] == "imported inside a function of argparse"
    assert reasons["stat"] == "imported by shutil"  # a lazily imported module's top-level imports
    assert reasons["quiet"] == "imported inside a function of user"
    # Not followed: into packages, and the lazy imports of lazily imported modules.
    assert not {"email", "email.parser", "tarfile", "loud"} & set(reasons)


def test_stdlib_include_re_adds_tests_and_keeps_invalid_sources(tmp_path, stdlib):
    bundle = tmp_path / "app.bundle"
    compile_tool.main(["--manifest", str(_app(tmp_path, {"main.py": ""})), "--out", str(bundle)])
    code, out, _ = _pack(tmp_path, stdlib, bundle, "--stdlib-include", "test")
    assert code == 0
    blob = resources.Blob(out.read_bytes())
    data, source = blob.payload(blob.find("modules", "test.badsyntax_x"))
    assert bytes(data) == b"" and b"nonsense" in bytes(source)  # compiled at import: SyntaxError


@pytest.mark.parametrize("prune", [[], ["--prune"]])
def test_app_package_named_like_an_excluded_stdlib_package(tmp_path, stdlib, prune):
    # CPython's `test` package is excluded by default; the application's own `test` package,
    # data included, is packed instead, and none of the stdlib's test data comes back.
    files = {"main.py": "import test.leakers\n", "test/__init__.py": "", "test/leakers/__init__.py": "",
             "test/leakers/README.txt": "the application's"}
    manifest = _app(tmp_path, files, data=["test/leakers/README.txt"])
    bundle = tmp_path / "app.bundle"
    assert compile_tool.main(["--manifest", str(manifest), "--out", str(bundle)]) == 0
    python_json = _python_json(tmp_path, test_packages=["test"])
    code, out, _ = _pack(tmp_path, stdlib, bundle, "--python-json", str(python_json), *prune)
    assert code == 0
    blob = resources.Blob(out.read_bytes())
    assert bytes(blob.payload(blob.find("resources", "test.leakers/README.txt"))[0]) == b"the application's"
    names = {r.name for r in blob.tables["modules"]}
    assert "test.badsyntax_x" not in names and "test.leakers" in names


def test_syntax_error_names_file_and_line(tmp_path, capsys):
    manifest = _app(tmp_path, {"main.py": "x = 1\ndef broken(:\n"})
    assert compile_tool.main(["--manifest", str(manifest), "--out", str(tmp_path / "b")]) == 1
    assert "app/main.py:2" in capsys.readouterr().err


def test_app_module_shadowing_stdlib_fails(tmp_path, stdlib, capsys):
    bundle = tmp_path / "app.bundle"
    compile_tool.main(["--manifest", str(_app(tmp_path, {"main.py": "", "json.py": ""})), "--out", str(bundle)])
    code, _, _ = _pack(tmp_path, stdlib, bundle)
    assert code == 1
    err = capsys.readouterr().err
    assert "'json' is both in the standard library (<stdlib>/json/__init__.py) and in the application (app/json.py)" in err


def test_data_outside_packages_fails(tmp_path, capsys):
    # Under the repository root, app/ would be a namespace package that owns the file.
    # (The rules always add the repository roots; app_module_set takes the roots it is given.)
    manifest = compile_tool.read_manifest(str(_app(tmp_path, {"main.py": "", "loose.txt": "x"}, data=["loose.txt"])))
    manifest["roots"] = ["_main/app"]
    with pytest.raises(collect.CollectError, match="data file app/loose.txt is not inside a Python package"):
        compile_tool.app_module_set(manifest)


def test_stdlib_imports_inside_functions_are_not_followed(tmp_path):
    code = compile("import a\ndef f():\n    import b\nclass C:\n    import c\n", "m", "exec")
    assert set(pack.imports_of(code, "m", False, functions=False)) == {"a", "c"}
    assert set(pack.imports_of(code, "m", False)) == {"a", "b", "c"}


def test_imports_of_relative_and_from_imports():
    code = compile("from . import a\nfrom .. import b\nfrom x.y import z\nimport q.r\n", "m", "exec")
    assert set(pack.imports_of(code, "p.s.m", False)) >= {"p.s", "p.s.a", "p", "p.b", "x.y", "x.y.z", "q.r"}


def test_namespace_package_yields_to_stdlib(tmp_path, stdlib):
    bundle = tmp_path / "app.bundle"
    # app/json/ has no __init__.py: a namespace package named "json" under the app root
    compile_tool.main(["--manifest", str(_app(tmp_path, {"main.py": "", "json/x.py": ""}, roots=("_main/app",))),
                       "--out", str(bundle)])
    code, out, report = _pack(tmp_path, stdlib, bundle)
    assert code == 0
    blob = resources.Blob(out.read_bytes())
    assert blob.find("modules", "json").flags & resources.PACKAGE
    assert not blob.find("modules", "json").flags & resources.NAMESPACE


def _wheel(tmp_path, members):
    import zipfile
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return {"path": str(path), "filename": path.name, "dist": "demo", "version": "1.0", "inspection": None}


def test_wheel_members_become_modules_data_and_metadata(tmp_path):
    wheel = _wheel(tmp_path, {
        "demo/__init__.py": "X = 1\n",
        "demo/data/table.txt": "rows\n",
        "demo/__pycache__/__init__.cpython-313.pyc": "stale",
        "demo-1.0.data/purelib/demo_extra.py": "Y = 2\n",
        "demo-1.0.data/scripts/demo": "#!python\n",
        "demo-1.0.dist-info/METADATA": "Name: demo\nVersion: 1.0\n",
        "demo-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemo-cli = demo.cli:main\n",
    })
    module_set, libraries, package = compile_tool.wheel_module_set(wheel, str(tmp_path / "scratch"))
    assert [m.name for m in module_set.modules] == ["demo", "demo_extra"]
    assert [r.name for r in module_set.resources] == ["demo/data/table.txt"]
    assert [r.name for r in module_set.metadata] == ["demo-1.0.dist-info/METADATA", "demo-1.0.dist-info/entry_points.txt"]
    assert libraries == [] and package["packed"]["modules"] == 2
    source = compile_tool.entry_point_source({"console_script": "demo-cli"}, module_set.metadata)
    assert "import demo.cli as _module" in source and "sys.exit(_module.main())" in source


def test_unknown_console_script_lists_the_known_ones(tmp_path):
    wheel = _wheel(tmp_path, {"demo-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemo-cli = demo.cli:main\n"})
    module_set, _, _ = compile_tool.wheel_module_set(wheel, str(tmp_path / "scratch"))
    with pytest.raises(collect.CollectError, match="no package in deps declares it; .* are: demo-cli"):
        compile_tool.entry_point_source({"console_script": "nope"}, module_set.metadata)


def test_wheel_member_outside_site_packages_is_refused(tmp_path):
    wheel = _wheel(tmp_path, {"../evil.py": "x"})
    with pytest.raises(collect.CollectError, match="outside site-packages"):
        compile_tool.wheel_module_set(wheel, str(tmp_path / "scratch"))


def test_data_on_disk_writes_the_package_data(tmp_path, stdlib, capsys):
    manifest = _app(tmp_path, {"main.py": "", "pkg/__init__.py": "", "pkg/d/x.txt": "x", "other/__init__.py": "", "other/y.txt": "y"},
                    data=["pkg/d/x.txt", "other/y.txt"])
    bundle = tmp_path / "app.bundle"
    assert compile_tool.main(["--manifest", str(manifest), "--out", str(bundle)]) == 0
    code, _, _ = _pack(tmp_path, stdlib, bundle, "--data-on-disk", "pkg", "--data-dir", str(tmp_path / "app.data"))
    assert code == 0
    assert sorted(str(p.relative_to(tmp_path / "app.data")) for p in (tmp_path / "app.data").rglob("*") if p.is_file()) == ["pkg/d/x.txt"]
    code, _, _ = _pack(tmp_path, stdlib, bundle, "--data-on-disk", "nothere", "--data-dir", str(tmp_path / "other.data"))
    assert code == 1 and "data_on_disk names 'nothere', which is not a package of this binary" in capsys.readouterr().err


def test_bundle_is_the_same_whatever_the_jobs(tmp_path):
    # Enough modules for the worker processes (compile's parallel threshold), with shared names,
    # constants and a frozenset, as the stdlib has them.
    lib = tmp_path / "lib"
    _write(lib, {f"m{i:03}.py": (f"NAME = 'shared name'\nTABLE = ('a', 'b', {i})\n"
                                 f"def f(x):\n    return x in {{'alpha', 'beta', 'gamma', 'delta', 'm{i}'}}\n")
                 for i in range(100)})
    bundles = []
    for jobs in ("1", "2", "3"):
        out = tmp_path / f"jobs{jobs}.bundle"
        assert compile_tool.main(["--stdlib", str(lib), "--out", str(out), "--jobs", jobs]) == 0
        bundles.append(out.read_bytes())
    assert bundles[0] == bundles[1] == bundles[2]
    assert len(marshal.loads(bundles[0])["modules"]) == 100


@pytest.mark.parametrize("startup_too", [False, True])
def test_compress_packs_modules_with_code_as_zstd_frames(tmp_path, stdlib, startup_too):
    manifest = _app(tmp_path, {"main.py": "import json\nprint('hi')\ndef later():\n    import os\n",
                               "pkg/__init__.py": "", "ns/x.py": ""})
    bundle = tmp_path / "app.bundle"
    assert compile_tool.main(["--manifest", str(manifest), "--out", str(bundle)]) == 0
    code, out, _ = _pack(tmp_path, stdlib, bundle)
    plain = resources.Blob(out.read_bytes())
    code, out, report = _pack(tmp_path, stdlib, bundle, "--compress", *(["--compress-startup-modules"] if startup_too else []))
    assert code == 0
    blob = resources.Blob(out.read_bytes())
    listed = {e["name"]: e for e in json.loads(report.read_text())["modules"]}
    # Start-up: the main module and what its top-level imports reach, with the packages above.
    # app.main: the main module under its path's name, the same payload.
    startup = set() if startup_too else {"main", "app.main", "json", "json.decoder", "re", "encodings", "encodings.utf_8"}
    for record in plain.tables["modules"]:
        packed = blob.find("modules", record.name)
        compressed = record.data_length > 0 and record.name not in startup
        assert bool(packed.flags & resources.COMPRESSED) == compressed, record.name
        assert packed.flags & ~resources.COMPRESSED == record.flags
        if record.data_length:
            assert blob.module_code(packed) == plain.module_code(record)
        assert listed[record.name].get("compressed_size") == (packed.data_length if compressed else None)
    assert blob.dictionary == (0, 0, 0)  # a handful of tiny modules: no dictionary pays


def test_startup_modules_follow_top_level_imports_only():
    def module(name, source, flags=0):
        return (name, flags, marshal.dumps(compile(source, name, "exec")), None, name, "")
    modules = [module("app", "import a\nfrom b import c\ndef f():\n    import lazy\n"), module("a", "import a2\n"),
               module("a2", ""), module("b", "", resources.PACKAGE), module("b.c", ""), module("lazy", ""),
               module("abc", ""), module("unrelated", "import a\n")]
    assert pack.startup_modules(modules, "app") == {"app", "a", "a2", "b", "b.c", "abc"}


def test_compress_without_zstandard_names_what_is_missing(tmp_path, stdlib, monkeypatch, capsys):
    manifest = _app(tmp_path, {"main.py": "print('hi')\n"})
    bundle = tmp_path / "app.bundle"
    assert compile_tool.main(["--manifest", str(manifest), "--out", str(bundle)]) == 0
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import zstandard raises ImportError
    code, out, _ = _pack(tmp_path, stdlib, bundle, "--compress")
    assert code == 1 and not out.exists()
    assert "compressed packed resources need the zstandard package" in capsys.readouterr().err


def test_large_extensions_come_from_the_parsed_python_json(tmp_path, stdlib):
    ext = {"in_core": True, "init_fn": "PyInit_x", "objs": [], "required": False, "variant": "default"}
    extensions = {
        "_ssl": [dict(ext, links=[{"name": "ssl", "path_static": "build/lib/libssl.a"}])],
        "_codecs_jp": [dict(ext, links=[])],
        "_socket": [dict(ext, links=[{"name": "m", "system": True}])],
        "_sqlite3": [dict(ext, required=True, links=[{"name": "sqlite3", "path_static": "build/lib/libsqlite3.a"}])],
    }
    path = _python_json(tmp_path, extensions=extensions)
    assert pack.large_extensions(python_json.load(path, check_paths=False)) == ["_codecs_jp", "_ssl"]


def test_pack_names_a_broken_python_json(tmp_path, stdlib, capsys):
    manifest = _app(tmp_path, {"main.py": "print('hi')\n"})
    bundle = tmp_path / "app.bundle"
    assert compile_tool.main(["--manifest", str(manifest), "--out", str(bundle)]) == 0
    broken = tmp_path / "PYTHON.json"
    broken.write_text(json.dumps({"python_stdlib_test_packages": ["test"]}))
    code, out, _ = _pack(tmp_path, stdlib, bundle, "--python-json", str(broken))
    assert code == 1 and not out.exists()
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(broken) in err and "version" in err


def _bundle_file(tmp_path, **changes):
    content = {"format": bundle_format.FORMAT, "python": tuple(sys.version_info[:2]), "optimize": 0,
               "modules": [("m", 0, b"", None, "m.py")], "resources": [], "metadata": [],
               "libraries": [], "packages": []}
    content.update(changes)
    path = tmp_path / "x.bundle"
    path.write_bytes(marshal.dumps(content, 2))
    return path


@pytest.mark.parametrize("changes, message", [
    ({"format": "rps-bundle-2"}, r"not a rps-bundle-3 bundle \(found 'rps-bundle-2'\); rebuild it"),
    ({"python": (2, 7)}, r"compiled by Python \(2, 7\), packing with"),
    ({"optimize": 3}, r"optimize is 3, not 0, 1 or 2"),
    ({"modules": [("m", 0, "code as str", None, "m.py")]}, r"modules\[0\] is not a \(str, int, bytes, bytes/NoneType, str\) entry"),
    ({"resources": [("r", b"x")]}, r"resources\[0\] is not a"),
    ({"libraries": None}, r"libraries is not a list"),
    ({"packages": ["wheel"]}, r"packages is not a list of records"),
])
def test_bundle_reader_names_what_is_wrong(tmp_path, changes, message):
    path = _bundle_file(tmp_path, **changes)
    with pytest.raises(bundle_format.BundleError, match=message):
        bundle_format.load(str(path))


def test_bundle_reader_refuses_other_files(tmp_path):
    path = tmp_path / "not.bundle"
    path.write_bytes(b"\x00garbage")
    with pytest.raises(bundle_format.BundleError, match=r"not a readable bundle .*; rebuild it with tools/compile"):
        bundle_format.load(str(path))
    path.write_bytes(marshal.dumps([1, 2]))
    with pytest.raises(bundle_format.BundleError, match=r"not a rps-bundle-3 bundle \(found 'list'\)"):
        bundle_format.load(str(path))
    assert bundle_format.load(str(_bundle_file(tmp_path)))["modules"] == [("m", 0, b"", None, "m.py")]


@pytest.mark.parametrize("args, flags", [
    ([], 0),
    (["--isolated"], resources.RUNTIME_ISOLATED),
    (["--isolated", "--python-command-line", "--full-finalization"], resources.KNOWN_RUNTIME_FLAGS),
])
def test_pack_writes_the_runtime_flags(tmp_path, stdlib, args, flags):
    manifest = _app(tmp_path, {"main.py": "print('hi')\n"})
    bundle = tmp_path / "app.bundle"
    assert compile_tool.main(["--manifest", str(manifest), "--out", str(bundle)]) == 0
    code, out, _ = _pack(tmp_path, stdlib, bundle, *args)
    assert code == 0 and resources.Blob(out.read_bytes()).runtime_flags == flags


def test_manifest_sorts_out_the_deps_runfiles(tmp_path):
    def line(kind, rlocation):
        return {kind: {"rlocation": rlocation, "path": "p/" + rlocation, "origin": rlocation}}
    lines = [{"manifest": "rps-manifest-1", "label": "//app", "main_root": "_main/app", "modules": [], "wheels": []},
             {"root": "_main/lib"}, line("file", "_main/app/main.py"), line("file", "other/x.py"),
             line("dep_data", "_main/app/main.py"), line("dep_data", "dep/pkg/d.txt"), line("dep_data", "dep/x.pyc"),
             line("data", "_main/app/d.txt")]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(l) + "\n" for l in lines))
    manifest = compile_tool.read_manifest(str(path))
    assert manifest["roots"] == ["_main/app", "_main/lib", "_main", "other", "dep"]
    assert [f["rlocation"] for f in manifest["dep_data"]] == ["dep/pkg/d.txt"]
    assert [f["rlocation"] for f in manifest["files"]] == ["_main/app/main.py", "other/x.py"]
    assert manifest["entry_point"] is None and manifest["wheels"] == []


def test_manifest_refuses_compiled_extensions_and_other_files(tmp_path, capsys):
    path = tmp_path / "m.jsonl"
    header = {"manifest": "rps-manifest-1", "label": "//app:bin", "main_root": "_main/app"}
    so = {"dep_data": {"rlocation": "dep/m.cpython-313-x86_64-linux-gnu.so", "path": "p/m.cpython-313-x86_64-linux-gnu.so",
                       "origin": "external/dep/m.cpython-313-x86_64-linux-gnu.so"}}
    path.write_text(json.dumps(header) + "\n" + json.dumps(so) + "\n")
    with pytest.raises(compile_tool.CompileError, match=r"//app:bin: deps contain compiled extension modules.*external/dep/m\.cpython"):
        compile_tool.read_manifest(str(path))
    path.write_text('{"roots": []}\n')
    assert compile_tool.main(["--manifest", str(path), "--out", str(tmp_path / "o")]) == 1
    assert "not a rps-manifest-1 manifest" in capsys.readouterr().err
    path.write_text(json.dumps(header) + '\n{"what": 1}\n')
    with pytest.raises(compile_tool.CompileError, match=r"m\.jsonl:2: not a root or file line"):
        compile_tool.read_manifest(str(path))
