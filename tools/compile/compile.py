"""Compiles a module set to bytecode with the embedded CPython version.

Runs on the distribution's own interpreter (the same CPython version that the binary embeds),
so the marshalled code objects are what that interpreter loads. The output, a "bundle", is an
intermediate file read only by `tools/pack` on the same interpreter:

    marshal.dumps({"format": "rps-bundle-1", "python": sys.version_info[:2], "optimize": N,
                   "modules": [(name, flags, code, source, origin), ...],
                   "resources": [(name, data, origin), ...], "metadata": [...]})

`code` is `marshal.dumps(code_object)`; flags are the module flags of docs/resources-format.md.
Nothing depends on file times, so equal inputs give equal bundles.

    compile.py --stdlib DIR --optimize 0 --out stdlib.bundle
    compile.py --manifest app.json --optimize 0 --out app.bundle
"""

from __future__ import annotations

import argparse
import json
import marshal
import os
import sys

# Run as a script by the distribution's interpreter (no py_binary wrapper): the repository root.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from tools.collect import collect  # noqa: E402
from tools.pack import resources  # noqa: E402

BUNDLE_FORMAT = "rps-bundle-1"
_PARALLEL_THRESHOLD = 64


class CompileError(Exception):
    pass


def _compile_one(item: tuple[str, str | None, bool, str, int, bool]) -> tuple[str, int, bytes, bytes | None, str]:
    name, path, is_package, origin, optimize, strict = item
    flags = resources.PACKAGE if is_package else 0
    if path is None:
        return name, flags | resources.NAMESPACE, b"", None, origin
    with open(path, "rb") as f:
        source = f.read()
    try:
        code = compile(source, origin, "exec", dont_inherit=True, optimize=optimize)
    except SyntaxError as e:
        if not strict:
            # The stdlib's deliberately invalid test files: packed as source only, so importing
            # them raises the same SyntaxError at run time (docs/resources-format.md).
            return name, flags | resources.SOURCE, b"", source, origin
        where = f"{origin}:{e.lineno}" + (f":{e.offset}" if e.offset else "")
        raise CompileError(f"{where}: {type(e).__name__}: {e.msg}") from None
    except ValueError as e:  # e.g. NUL bytes in the source
        raise CompileError(f"{origin}: cannot compile: {e}") from None
    return name, flags | resources.SOURCE, marshal.dumps(code), source, origin


def compile_modules(modules: list[collect.ModuleFile], optimize: int, jobs: int, strict: bool) -> list:
    """strict: a syntax error fails (application files) instead of packing source only (stdlib)."""
    items = [(m.name, m.path, m.is_package, m.origin, optimize, strict) for m in modules]
    if jobs > 1 and len(items) >= _PARALLEL_THRESHOLD:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return pool.map(_compile_one, items, chunksize=16)
    return [_compile_one(item) for item in items]


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def bundle(module_set: collect.ModuleSet, optimize: int, jobs: int, strict: bool) -> bytes:
    return marshal.dumps({
        "format": BUNDLE_FORMAT,
        "python": tuple(sys.version_info[:2]),
        "optimize": optimize,
        "modules": compile_modules(module_set.modules, optimize, jobs, strict),
        "resources": [(r.name, _read(r.path), r.origin) for r in module_set.resources],
        "metadata": [(r.name, _read(r.path), r.origin) for r in module_set.metadata],
    })


def app_module_set(manifest: dict) -> collect.ModuleSet:
    """The manifest (written by the Bazel rule) -> module set.

    {"roots": [runfiles paths], "files": [{"rlocation", "path", "origin"}],
     "data": [same, for files that must end up as resources],
     "dep_data": [same, the deps' other runfiles: packed when inside a package, else skipped],
     "modules": [{"name", "path", "origin"}] (fixed names, e.g. the runtime's own modules)}
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
    fixed = [collect.ModuleFile(m["name"], m["path"], False, m["origin"]) for m in manifest.get("modules", [])]
    for module in fixed:
        if any(m.name == module.name for m in module_set.modules):
            raise collect.CollectError(f"module name {module.name!r} is reserved for the runtime; rename your module")
    module_set.modules = sorted(module_set.modules + fixed, key=lambda m: m.name)
    return module_set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stdlib", help="stdlib directory of the distribution")
    source.add_argument("--manifest", help="JSON manifest of application files")
    parser.add_argument("--optimize", type=int, choices=(0, 1, 2), default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        if args.stdlib:
            module_set = collect.stdlib_module_set(args.stdlib)
        else:
            with open(args.manifest, encoding="utf-8") as f:
                module_set = app_module_set(json.load(f))
        data = bundle(module_set, args.optimize, args.jobs, strict=not args.stdlib)
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
