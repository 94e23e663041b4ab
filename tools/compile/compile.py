"""Compiles a module set to bytecode with the embedded CPython version.

Runs on the distribution's own interpreter (the same CPython version that the binary embeds),
so the marshalled code objects are what that interpreter loads. The output, a "bundle"
(docs/bundle-format.md, tools/formats/bundle.py), is read only by `tools/pack` on the same
interpreter. Code objects are marshalled canonically (`stable_marshal.dumps`); wheels (PyPI
packages) are read straight from their zip files. Nothing depends on file times, the number of
jobs or the hash seed, so equal inputs give equal bundles (tests/tools/test_compile_pack.py).

    compile.py --stdlib DIR --optimize 0 --out stdlib.bundle
    compile.py --manifest manifest.jsonl --optimize 0 --out app.bundle
"""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import json
import os
import sys
import tempfile
import zipfile

from tools.collect import collect
from tools.compile import stable_marshal
from tools.formats import bundle as bundle_format
from tools.formats import resources
from tools.wheel import layout

_PARALLEL_THRESHOLD = 64


class CompileError(Exception):
    pass


def _compile_one(item: tuple) -> tuple[str, int, bytes, bytes | None, str]:
    name, path, is_package, origin, optimize, strict, libraries = item
    flags = resources.PACKAGE if is_package else 0
    if libraries is not None:
        # The load list: the origin (for messages), then the libraries to load first.
        load_list = "\n".join((origin,) + libraries).encode("utf-8")
        return name, flags | resources.EXTENSION, _read(path), load_list, origin
    if path is None:
        return name, flags | resources.NAMESPACE, b"", None, origin
    with open(path, "rb") as f:
        source = f.read()
    try:
        code = compile(source, origin, "exec", dont_inherit=True, optimize=optimize)
    except SyntaxError as e:
        if not strict:
            # The stdlib's deliberately invalid test files: packed as source only, so importing
            # them raises the same SyntaxError at run time (docs/bundle-format.md).
            return name, flags | resources.SOURCE, b"", source, origin
        where = f"{origin}:{e.lineno}" + (f":{e.offset}" if e.offset else "")
        raise CompileError(f"{where}: {type(e).__name__}: {e.msg}") from None
    except ValueError as e:  # e.g. NUL bytes in the source
        raise CompileError(f"{origin}: cannot compile: {e}") from None
    try:
        data = stable_marshal.dumps(code)
    except stable_marshal.MarshalFormatError as e:  # a CPython whose marshal format is new here
        raise CompileError(f"{origin}: cannot marshal its code canonically: {e}") from None
    return name, flags | resources.SOURCE, data, source, origin


def compile_modules(modules: list[collect.ModuleFile], optimize: int, jobs: int, strict: bool) -> list:
    """strict: a syntax error fails (application files) instead of packing source only (stdlib)."""
    # A wheel's files are compiled the way pip installs them (compileall): a module that does not
    # compile (written for another Python) is packed as source and fails only when imported.
    items = [(m.name, m.path, m.is_package, m.origin, optimize, strict and ".whl/" not in m.origin, m.libraries)
             for m in modules]
    if jobs > 1 and len(items) >= _PARALLEL_THRESHOLD:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return pool.map(_compile_one, items, chunksize=16)
    return [_compile_one(item) for item in items]


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def bundle(module_set: collect.ModuleSet, optimize: int, jobs: int, strict: bool,
           libraries: list[VendoredLibrary] = (), packages: list[dict] = ()) -> bytes:
    return bundle_format.dumps(
        optimize,
        modules=compile_modules(module_set.modules, optimize, jobs, strict),
        resources=[(r.name, _read(r.path), r.origin) for r in module_set.resources],
        metadata=[(r.name, _read(r.path), r.origin) for r in module_set.metadata],
        libraries=[(r.name, _read(r.path), r.origin, r.cycle_patches) for r in libraries],
        packages=list(packages),
    )


# --- Wheels ------------------------------------------------------------------------------------

ENTRY_POINT_MODULE = "_rps_main"


@dataclasses.dataclass
class VendoredLibrary:
    """A shared library a wheel vendors (`<pkg>.libs/`), for the libraries table."""
    name: str
    path: str
    origin: str
    cycle_patches: bytes | None  # "<offset> <length> <library>" lines, for a library in a DT_NEEDED cycle


def wheel_module_set(wheel: dict, scratch: str) -> tuple[collect.ModuleSet, list[VendoredLibrary], dict]:
    """A wheel's modules, package data, dist-info and (with its inspection) extension modules and
    vendored libraries. Members are extracted to `scratch` (inside the build action)."""
    filename = wheel["filename"]
    inspection = {"extensions": {}, "libraries": {}, "cycle_patches": {}}
    if wheel.get("inspection"):
        with open(wheel["inspection"], encoding="utf-8") as f:
            inspection = json.load(f)
    try:
        archive = zipfile.ZipFile(wheel["path"])
    except (OSError, zipfile.BadZipFile) as e:
        raise collect.CollectError(f"{filename}: not a readable wheel: {e}") from None
    files, extensions, libraries = [], [], []
    with archive:
        for info in archive.infolist():
            path = layout.installed_path(info.filename)
            if path is None or info.is_dir() or path.endswith(".pyc") or "/__pycache__/" in "/" + path:
                continue
            parts = path.split("/")
            if ".." in parts or path.startswith("/"):
                raise collect.CollectError(f"{filename}: member {info.filename!r} would install outside site-packages")
            local = os.path.join(scratch, *parts)
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with archive.open(info) as source, open(local, "wb") as out:
                out.write(source.read())
            origin = f"{filename}/{info.filename}"
            if path in inspection["extensions"]:
                extensions.append((path, local, origin))
            elif path in inspection["libraries"]:
                patches = inspection.get("cycle_patches", {}).get(path)
                text = "".join(f"{offset} {length} {target}\n" for offset, length, target in patches).encode() if patches else None
                libraries.append(VendoredLibrary(os.path.basename(path), local, origin, text))
                if layout.is_extension_module(path):
                    # A library inside a package (no module init: soundfile's libsndfile, loaded
                    # with ctypes by its path) is also a file at that path; the two entries
                    # share one payload.
                    files.append(("wheel/" + path, local, origin))
            elif layout.is_extension_module(path) and not wheel.get("inspection"):
                raise collect.CollectError(f"{filename}: {info.filename} is a compiled extension module in a wheel "
                                           "tagged as pure Python; the wheel's tags are wrong")
            else:
                files.append(("wheel/" + path, local, origin))
    module_set = collect.map_files(files, ["wheel"])
    by_name = {m.name: m for m in module_set.modules}
    for path, local, origin in extensions:
        name_parts, is_package = layout.module_name(path)
        # The last part only needs to be a name import machinery accepts: mypyc's shared helper
        # modules are called <hex hash>__mypyc and imported from C.
        if not name_parts or not name_parts[-1] or (len(name_parts) > 1 and not collect.is_module_name(name_parts[:-1])):
            raise collect.CollectError(f"{origin}: {path} is not importable as a module name")
        name = ".".join(name_parts)
        libs = tuple(os.path.basename(m) for m in inspection["extensions"][path])
        # Like CPython's path finder, an extension module wins over a .py file of the same name
        # (mypyc-compiled wheels such as black ship both).
        by_name[name] = collect.ModuleFile(name, local, is_package, origin, libs)
        for i in range(1, len(name.split("."))):
            parent = ".".join(name.split(".")[:i])
            by_name.setdefault(parent, collect.ModuleFile(parent, None, True, f"namespace package {filename}/{parent}"))
    module_set.modules = sorted(by_name.values(), key=lambda m: m.name)
    packed = {"modules": len(module_set.modules), "resources": len(module_set.resources),
              "metadata": len(module_set.metadata), "extensions": len(extensions), "libraries": len(libraries)}
    return module_set, libraries, {"dist": wheel["dist"], "version": wheel["version"], "wheel": filename, "packed": packed}


def _merge(into: collect.ModuleSet, other: collect.ModuleSet) -> None:
    for attr, kind in (("modules", "module"), ("resources", "resource"), ("metadata", "metadata file")):
        known = {item.name: item for item in getattr(into, attr)}
        for item in getattr(other, attr):
            if item.name in known:
                if attr == "modules" and (known[item.name].path is None or item.path is None):
                    continue  # namespace package portions merge
                raise collect.CollectError(f"two files map to {kind} {item.name!r}: {known[item.name].origin} and "
                                           f"{item.origin}; a binary holds one of each name: drop one of the packages")
            known[item.name] = item
        setattr(into, attr, sorted(known.values(), key=lambda i: i.name))


def entry_point_source(entry_point: dict, metadata: list[collect.ResourceFile]) -> str:
    """The main module for console_script = NAME or entry_point = "pkg.mod:func"."""
    target = entry_point.get("object")
    if entry_point.get("console_script"):
        wanted = entry_point["console_script"]
        found: dict[str, str] = {}
        for resource in metadata:
            if resource.name.count("/") == 1 and resource.name.endswith(".dist-info/entry_points.txt"):
                parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
                parser.optionxform = str  # type: ignore[assignment,method-assign]
                try:
                    parser.read(resource.path, encoding="utf-8")
                except configparser.Error as e:
                    raise collect.CollectError(f"{resource.origin}: unreadable entry points: {e}") from None
                for section in ("console_scripts", "gui_scripts"):
                    if parser.has_section(section):
                        for key, value in parser.items(section):
                            found.setdefault(key, value.strip())
        if wanted not in found:
            raise collect.CollectError(
                f"console_script = {wanted!r}: no package in deps declares it; the packages' console scripts are: "
                + (", ".join(sorted(found)) or "none"))
        target = found[wanted]
    module, _, attribute = (target or "").partition(":")
    module, attribute = module.strip(), attribute.split("[")[0].strip()
    if not collect.is_module_name(module.split(".")) or not attribute or not all(
            collect.is_module_name([a]) for a in attribute.split(".")):
        raise collect.CollectError(f"entry point {target!r} is not of the form 'package.module:function'")
    return ("import sys\n"
            f"import {module} as _module\n\n"
            "if __name__ == \"__main__\":\n"
            f"    sys.exit(_module.{attribute}())\n")


MANIFEST_FORMAT = "rps-manifest-1"
_FILE_KINDS = ("file", "data", "dep_data")


def read_manifest(path: str) -> dict:
    """The rule's manifest (JSON lines, docs/tools.md) -> the dict app_module_set takes.

    Line 1 is the header ({"manifest", "label", "main_root", "modules", "wheels", "entry_point"});
    then {"root": path} per import root and {"file" | "data" | "dep_data": {"rlocation", "path",
    "origin"}} per file, in the rule's order. Here the rule's depsets are sorted out: the deps'
    other runfiles lose the program's own files, bytecode and shared objects; a compiled
    extension module among them is refused; every repository holding a file is an import root
    after the listed ones."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f.read().split("\n") if line]
    try:
        records = [json.loads(line) for line in lines]
    except ValueError as e:
        raise CompileError(f"{path}: not a manifest of the rules ({e})") from None
    if not records or not isinstance(records[0], dict) or records[0].get("manifest") != MANIFEST_FORMAT:
        raise CompileError(f"{path}: not a {MANIFEST_FORMAT} manifest; rebuild it with the rules that wrote it")
    header, manifest = records[0], {kind: [] for kind in _FILE_KINDS}
    roots = [header["main_root"]]
    for number, record in enumerate(records[1:], start=2):
        kind = next(iter(record), None) if isinstance(record, dict) and len(record) == 1 else None
        if kind == "root":
            roots.append(record["root"])
        elif kind in _FILE_KINDS:
            manifest[kind].append(record[kind])
        else:
            raise CompileError(f"{path}:{number}: not a root or file line: {lines[number - 1][:80]}")
    sources = {f["path"] for f in manifest["file"]}
    extensions = [f["origin"] for f in manifest["dep_data"]
                  if f["path"].endswith(".so") and (".cpython-" in f["path"] or ".abi3." in f["path"])]
    if extensions:
        raise CompileError(f"{header.get('label')}: deps contain compiled extension modules, which a standalone binary "
                           "cannot load yet (it links its C code statically and loads nothing from disk): "
                           + ", ".join(extensions[:5]))
    dep_data = [f for f in manifest["dep_data"] if f["path"] not in sources and not f["path"].endswith((".pyc", ".so"))]
    for f in manifest["file"] + dep_data + manifest["data"]:
        roots.append(f["rlocation"].partition("/")[0])
    return {
        "roots": list(dict.fromkeys(roots)),
        "files": manifest["file"],
        "data": manifest["data"],
        "dep_data": dep_data,
        "modules": header.get("modules", []),
        "wheels": header.get("wheels", []),
        "entry_point": header.get("entry_point"),
    }


def app_module_set(manifest: dict, scratch: str = "") -> tuple[collect.ModuleSet, list, list]:
    """The manifest (written by the Bazel rule) -> module set.

    {"roots": [runfiles paths], "files": [{"rlocation", "path", "origin"}],
     "data": [same, for files that must end up as resources],
     "dep_data": [same, the deps' other runfiles: packed when inside a package, else skipped],
     "modules": [{"name", "path", "origin"}] (fixed names, e.g. the runtime's own modules),
     "wheels": [{"path", "filename", "dist", "version", "inspection"}] (PyPI packages),
     "entry_point": {"console_script": NAME} | {"object": "pkg.mod:func"} (optional)}
    Returns the module set, the vendored libraries and the packages' report entries.
    """
    listed = manifest["files"] + manifest.get("data", []) + manifest.get("dep_data", [])
    files = [(f["rlocation"], f["path"], f["origin"]) for f in listed]
    module_set = collect.map_files(files, manifest["roots"])
    data_origins = {f["origin"] for f in manifest.get("data", [])}
    unreachable = sorted(set(module_set.unowned) & data_origins)
    if unreachable:
        raise collect.CollectError(
            f"data file {unreachable[0]} is not inside a Python package under any import root, so "
            "importlib.resources cannot reach it in a standalone binary: move it into a package "
            "directory (one with .py files or an __init__.py)"
            + (f" ({len(unreachable) - 1} more such files)" if len(unreachable) > 1 else ""))
    libraries: dict[str, VendoredLibrary] = {}
    packages = []
    for n, wheel in enumerate(manifest.get("wheels", [])):
        wheel_dir = os.path.join(scratch, str(n))
        wheel_set, wheel_libraries, package = wheel_module_set(wheel, wheel_dir)
        _merge(module_set, wheel_set)
        for library in wheel_libraries:
            other = libraries.get(library.name)
            if other is not None and _read(other.path) != _read(library.path):
                raise collect.CollectError(f"two different libraries named {library.name}: {other.origin} and {library.origin}")
            libraries[library.name] = library
        packages.append(package)
    fixed = [collect.ModuleFile(m["name"], m["path"], False, m["origin"]) for m in manifest.get("modules", [])]
    if manifest.get("entry_point"):
        path = os.path.join(scratch, ENTRY_POINT_MODULE + ".py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(entry_point_source(manifest["entry_point"], module_set.metadata))
        fixed.append(collect.ModuleFile(ENTRY_POINT_MODULE, path, False, "<rules_py_standalone>/entry_point.py"))
    for module in fixed:
        if any(m.name == module.name for m in module_set.modules):
            raise collect.CollectError(f"module name {module.name!r} is reserved for the runtime; rename your module")
    module_set.modules = sorted(module_set.modules + fixed, key=lambda m: m.name)
    return module_set, sorted(libraries.values(), key=lambda r: r.name), packages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stdlib", help="stdlib directory of the distribution")
    source.add_argument("--manifest", help="the rule's manifest of application files (JSON lines)")
    parser.add_argument("--optimize", type=int, choices=(0, 1, 2), default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            libraries: list[collect.ResourceFile] = []
            packages: list[dict] = []
            if args.stdlib:
                module_set = collect.stdlib_module_set(args.stdlib)
            else:
                module_set, libraries, packages = app_module_set(read_manifest(args.manifest), scratch)
            data = bundle(module_set, args.optimize, args.jobs, strict=not args.stdlib,
                          libraries=libraries, packages=packages)
    except (CompileError, collect.CollectError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: cannot read {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    with open(args.out, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
