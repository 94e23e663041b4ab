"""Selects the modules of a standalone binary and packs them (docs/resources-format.md).

Runs on the distribution's own interpreter, because pruning reads the marshalled code objects.
Inputs are bundles from `tools/compile`: one of the standard library, one of the application.
Outputs: the blob, and a JSON report of every module, resource and metadata file with the
reason it is in the binary (or was left out).

    pack.py --stdlib-bundle stdlib.bundle --app-bundle app.bundle --main app \\
        [--stdlib-exclude NAME ...] [--stdlib-include NAME ...] [--prune] [--sources] \\
        [--compress [--compress-startup-modules] --zstandard DIR] \\
        [--isolated] [--python-command-line] [--full-finalization] \\
        [--data-on-disk PACKAGE ... --data-dir DIR] \\
        [--python-json PYTHON.json [--unused-extensions-out unused.txt]] \\
        --out resources.bin --report report.json
"""

from __future__ import annotations

import argparse
import dataclasses
import dis
import json
import marshal
import os
import pathlib
import sys
import types
from typing import Iterable, Iterator

from tools.formats import bundle
from tools.formats import python_json
from tools.formats import resources

# Left out of every binary unless named in --stdlib-include: the test suite, GUI and IDE
# packages (no Tk in the distribution), the pip installer, demo/test helper modules.
DEFAULT_STDLIB_EXCLUDES = (
    "ensurepip", "idlelib", "tkinter", "turtle", "turtledemo", "__phello__", "__hello__",
)

# The CJK codecs' tables (about 1 MB), imported only by the encodings.* modules that use them.
CJK_CODEC_EXTENSIONS = frozenset({
    "_codecs_cn", "_codecs_hk", "_codecs_iso2022", "_codecs_jp", "_codecs_kr", "_codecs_tw", "_multibytecodec",
})

# Imported by the interpreter or the runtime itself, not by any import statement the pruner sees.
RUNTIME_ROOTS = ("encodings", "traceback", "runpy", "codecs", "io", "abc", "_rps_importer", "_rps_support", "_rps_view", "_rps_config")
# The runtime's own modules: imports inside their functions serve features the program may
# never use (importlib.resources, importlib.metadata), so pruning does not follow them.
_RUNTIME_MODULES = ("_rps_importer", "_rps_support", "_rps_view")
# What every binary imports before its main module (`python_cli -X importtime -c pass`, 3.13):
# with the main module's top-level imports, the start-up modules that `compress` leaves as they are.
STARTUP_ROOTS = ("_rps_importer", "_rps_support", "_rps_config", "abc", "codecs", "encodings", "encodings.aliases",
                 "encodings.utf_8", "io", "linecache", "_sitebuiltins")


class PackError(Exception):
    pass


def _matches(name: str, patterns: Iterable[str]) -> str | None:
    for pattern in patterns:
        if name == pattern or name.startswith(pattern + "."):
            return pattern
    return None


def _resource_package(name: str) -> str:
    return name.split("/", 1)[0]


_CO_NEWLOCALS = 0x2  # set on function bodies, not on module or class bodies


def imports_of(code: types.CodeType, module: str, is_package: bool, functions: bool = True) -> Iterator[str]:
    """Absolute names an import statement in `code` may load (module and `from` items).

    functions=False skips imports inside function bodies: the standard library imports lazily
    there what only some calls need (doctest, pydoc, ...), and following them would pack most of it.
    """
    package = module if is_package else module.rpartition(".")[0]
    stack = [code]
    while stack:
        current = stack.pop()
        consts: list = []
        for instruction in dis.get_instructions(current):
            if instruction.opname in ("LOAD_CONST", "LOAD_SMALL_INT"):  # 3.14 loads small ints apart
                consts.append(instruction.argval)
                continue
            if instruction.opname == "IMPORT_NAME" and len(consts) >= 2:
                level, fromlist = consts[-2], consts[-1]
                name = instruction.argval
                if isinstance(level, int) and level > 0:
                    base = package.rsplit(".", level - 1)[0] if level > 1 else package
                    name = f"{base}.{name}" if name else base
                yield name
                for item in fromlist or ():
                    if item != "*":
                        yield f"{name}.{item}"
            consts = []
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType)
                     and (functions or not c.co_flags & _CO_NEWLOCALS))


def _parents(name: str) -> Iterator[str]:
    parts = name.split(".")
    for i in range(1, len(parts)):
        yield ".".join(parts[:i])


def select(stdlib: dict, app: dict, *, excludes: list[str], includes: list[str], prune: bool,
           test_packages: list[str], large_extensions: Iterable[str] = ()) -> tuple[dict, list[dict], list[str]]:
    """Returns ({table: [(name, flags, data, source, origin, reason)]}, excluded report, extension
    modules to leave out of the link: with prune, those of `large_extensions` nothing imports)."""
    default_excludes = [p for p in list(DEFAULT_STDLIB_EXCLUDES) + test_packages if not _matches(p, includes)]
    excluded: list[dict] = []
    modules: dict[str, tuple] = {}
    for name, flags, code, source, origin in stdlib["modules"]:
        if (pattern := _matches(name, excludes)) is not None:
            excluded.append({"name": name, "origin": origin, "reason": f"stdlib_exclude {pattern!r}"})
        elif (pattern := _matches(name, default_excludes)) is not None and not _matches(name, includes):
            excluded.append({"name": name, "origin": origin, "reason": f"excluded by default ({pattern!r}); stdlib_include re-adds it"})
        else:
            modules[name] = (name, flags, code, source, origin, "stdlib")
    stdlib_names = set(modules)
    for name, flags, code, source, origin in app["modules"]:
        if name in modules and flags & resources.NAMESPACE:
            # Like sys.path: a namespace package portion never hides a regular module.
            excluded.append({"name": name, "origin": origin, "reason": f"namespace package hidden by {modules[name][4]}"})
            continue
        if name in modules:
            raise PackError(
                f"module {name!r} is both in the standard library ({modules[name][4]}) and in the "
                f"application ({origin}); rename the application's module, or add {name!r} to "
                "stdlib_exclude if you mean to replace the standard library's")
        modules[name] = (name, flags, code, source, origin, "application")
    tables = {"modules": modules}
    for table in ("resources", "metadata", "libraries"):
        entries = {}
        for name, data, origin, *plan in stdlib.get(table, []):
            # The stdlib's data follows the stdlib's own selection: an application package
            # named like an excluded stdlib package (`test`) must not bring that data back.
            if table == "resources" and _resource_package(name) not in stdlib_names:
                continue
            entries[name] = (name, 0, data, (plan or [None])[0], origin, "stdlib")
        for name, data, origin, *plan in app.get(table, []):
            if name in entries:
                raise PackError(f"{table[:-1]} {name!r} comes from both {entries[name][4]} and {origin}")
            # A library's second payload: its cycle patches (docs/resources-format.md).
            entries[name] = (name, 0, data, (plan or [None])[0], origin, "application")
        tables[table] = entries

    unused_extensions: list[str] = []
    if prune:
        reasons, imported = _reachable(modules, stdlib_names, includes)
        for name in sorted(large_extensions):
            if name not in imported and _matches(name, includes) is None:
                unused_extensions.append(name)
                excluded.append({"name": name, "origin": "PYTHON.json", "reason": "pruned: extension module not imported, left out of the link"})
        for name in sorted(stdlib_names):
            if name in reasons:
                entry = modules[name]
                modules[name] = entry[:5] + (reasons[name],)
            else:
                excluded.append({"name": name, "origin": modules[name][4], "reason": "pruned: not imported"})
                del modules[name]
        tables["resources"] = {k: v for k, v in tables["resources"].items()
                               if v[5] != "stdlib" or _resource_package(k) in modules}
    return {t: sorted(v.values()) for t, v in tables.items()}, excluded, unused_extensions


def _reachable(modules: dict[str, tuple], stdlib_names: set[str], includes: list[str]) -> tuple[dict[str, str], set[str]]:
    """Stdlib modules reachable by import statements from the application and runtime roots, and
    every name those statements import (extension modules among them).

    All of the application's import statements are followed; of a stdlib module's, those outside
    function bodies, and those inside them that name a plain top-level module (argparse's gettext
    imports locale, its help formatter shutil, on ordinary calls) when the application reaches that
    stdlib module by top-level imports. A lazily imported module brings only its own top-level
    imports, and none lead into packages, where the optional features live (unittest, asyncio,
    email, xml, ...): following every lazy import would pack most of the stdlib."""
    reasons: dict[str, str] = {}
    queue: list[str] = []
    imported: set[str] = set()
    lazily_reached: set[str] = set()  # only their top-level imports are followed

    def reach(name: str, reason: str, lazily: bool) -> None:
        for candidate in list(_parents(name)) + [name]:
            imported.add(candidate)
            if candidate not in modules:
                continue
            if candidate not in reasons:
                reasons[candidate] = reason
                queue.append(candidate)
                if lazily:
                    lazily_reached.add(candidate)
            elif not lazily and candidate in lazily_reached:
                lazily_reached.discard(candidate)
                queue.append(candidate)

    for name, entry in modules.items():
        if name not in stdlib_names:
            reasons[name] = "application"
            queue.append(name)
        elif _matches(name, RUNTIME_ROOTS) or _matches(name, includes):
            # The runtime's roots serve every program: their lazy imports are not followed.
            root = _matches(name, RUNTIME_ROOTS)
            reach(name, "runtime root" if root else "stdlib_include", lazily=bool(root))
    while queue:
        name = queue.pop()
        _, flags, code, _, _, _ = modules[name]
        if not code or flags & resources.EXTENSION:
            continue
        is_package = bool(flags & resources.PACKAGE)
        module_code = marshal.loads(code)
        lazily = name in lazily_reached or name in _RUNTIME_MODULES
        if name not in stdlib_names and name not in _RUNTIME_MODULES:
            for imported_name in imports_of(module_code, name, is_package):
                reach(imported_name, f"imported by {name}", lazily=False)
            continue
        top_level = set(imports_of(module_code, name, is_package, functions=False))
        for imported_name in sorted(top_level):
            reach(imported_name, f"imported by {name}", lazily)
        if lazily:
            continue
        for imported_name in sorted(set(imports_of(module_code, name, is_package)) - top_level):
            entry = modules.get(imported_name)
            if "." not in imported_name and entry is not None and not entry[1] & resources.PACKAGE:
                reach(imported_name, f"imported inside a function of {name}", lazily=True)
    return reasons, imported


def startup_modules(modules: list[tuple], main: str) -> set[str]:
    """The modules every run imports before the main module's body ends, as far as import
    statements outside functions tell: STARTUP_ROOTS and `main`, then their top-level imports
    (and the packages above them), transitively. `modules`: the modules table's entries."""
    entries = {entry[0]: entry for entry in modules}
    found: set[str] = set()
    queue = [name for name in STARTUP_ROOTS + (main,) if name in entries]
    while queue:
        name = queue.pop()
        if name in found:
            continue
        found.add(name)
        _, flags, code, *_ = entries[name]
        if not code or flags & resources.EXTENSION:
            continue
        for imported in imports_of(marshal.loads(code), name, bool(flags & resources.PACKAGE), functions=False):
            queue.extend(candidate for candidate in list(_parents(imported)) + [imported]
                         if candidate in entries and candidate not in found)
    return found


def pack(tables: dict, sources: bool, compress: bool = False, uncompressed: set[str] = frozenset(),
         runtime_flags: int = 0) -> bytes:
    """The blob of `tables`, with the runtime's settings (resources.RUNTIME_* bits); with
    `compress`, every module with code except those named in `uncompressed` is a zstd frame."""
    def entry(table: str, name: str, flags: int, data: bytes, source: bytes | None) -> resources.Entry:
        # A module without bytecode (invalid on purpose) keeps its source: the loader compiles it.
        keep = table == "libraries" or (
            table == "modules" and ((not data and not flags & resources.NAMESPACE) or flags & resources.EXTENSION))
        if not (sources or keep):
            source, flags = None, flags & ~resources.SOURCE
        return resources.Entry(name, data, source, flags)

    packed = {table: [entry(table, name, flags, data, source) for name, flags, data, source, _, _ in entries]
              for table, entries in tables.items()}
    dictionary = b""
    if compress:
        modules = packed.get("modules", [])
        # A payload two names share (the main module under its path's name) stays shared.
        kept = {e.data for e in modules if e.name in uncompressed}
        chosen = [i for i, e in enumerate(modules)
                  if e.data and not e.flags & resources.EXTENSION and e.data not in kept]
        dictionary, frames = resources.compress_codes([modules[i].data for i in chosen])
        for i, frame in zip(chosen, frames):
            modules[i] = dataclasses.replace(modules[i], data=frame, flags=modules[i].flags | resources.COMPRESSED)
    return resources.write(packed, dictionary, runtime_flags)


def view_path(table: str, name: str, flags: int, has_source: bool) -> str | None:
    """The entry's path under the binary in the files-by-path view (runtime/rps_view.py), or None
    when open() cannot reach it: package data, metadata, embedded module sources and the
    extension modules of wheels have one; bytecode without its source and libraries do not."""
    if table == "resources":
        package, _, rest = name.partition("/")
        return package.replace(".", "/") + "/" + rest
    if table == "metadata":
        return name
    if table != "modules" or flags & resources.NAMESPACE:
        return None
    path = name.replace(".", "/")
    if flags & resources.EXTENSION:
        import importlib.machinery
        return path + ("/__init__" if flags & resources.PACKAGE else "") + importlib.machinery.EXTENSION_SUFFIXES[0]
    if not has_source:
        return None
    return path + "/__init__.py" if flags & resources.PACKAGE else path + ".py"


def report(tables: dict, excluded: list[dict], sources: bool, blob_size: int, packages: list[dict] = (),
           compressed: dict[str, int] | None = None) -> dict:
    """compressed: the stored size of each COMPRESSED module (`compressed_size` in the report)."""
    compressed = compressed or {}

    def entry(table, name, flags, data, source, origin, reason):
        # A module keeps its source without --sources only when it has no bytecode (pack()).
        has_source = source is not None and (sources or (not data and not flags & resources.NAMESPACE))
        listed = {"name": name, "origin": origin, "reason": reason, "size": len(data) + (len(source or b"") if sources else 0)}
        path = view_path(table, name, flags, has_source)
        if path is not None:
            listed["path"] = path
        if table == "modules" and name in compressed:
            listed["compressed_size"] = compressed[name]
        return listed

    return {
        "format": "rps-pack-report-3",
        "packages": list(packages),
        "python": "%d.%d" % sys.version_info[:2],
        "sources_embedded": sources,
        "blob_size": blob_size,
        **{table: [entry(table, *fields) for fields in entries] for table, entries in tables.items()},
        "excluded": sorted(excluded, key=lambda e: e["name"]),
    }


def large_extensions(dist: python_json.Distribution) -> list[str]:
    """Extension modules worth leaving out of a pruned binary: those linking their own libraries
    (OpenSSL, SQLite, liblzma, ...) and the CJK codec tables. The others are a few kB each, and
    some of them the interpreter imports by name from C, which no import graph shows."""
    found = []
    for name, variants in dist.extensions.items():
        chosen = next((v for v in variants if v.in_core), variants[0])
        own_library = any(not link.system for link in chosen.links)
        if (own_library or name in CJK_CODEC_EXTENSIONS) and not chosen.required:
            found.append(name)
    return sorted(found)


def write_data_on_disk(tables: dict, packages: list[str], directory: str) -> list[str]:
    """Writes the package data of `packages` (and their subpackages) to `directory` as
    <package path>/<file> (data_on_disk: for C code that opens it by path). The files stay in
    the blob too: the runtime compares each with its packed bytes before the package is used.
    Returns the paths written, relative to `directory`."""
    os.makedirs(directory, exist_ok=True)
    written = []
    for name, _, data, _, _, _ in tables["resources"]:
        package, _, rest = name.partition("/")
        if _matches(package, packages) is None:
            continue
        relative = package.replace(".", "/") + "/" + rest
        path = os.path.join(directory, *relative.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        written.append(relative)
    names = {entry[0] for entry in tables["modules"]}
    for package in packages:
        if package not in names:
            raise PackError(f"data_on_disk names {package!r}, which is not a package of this binary")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stdlib-bundle", required=True)
    parser.add_argument("--app-bundle", required=True)
    parser.add_argument("--main", required=True, help="module name of the program's main module")
    parser.add_argument("--stdlib-exclude", action="append", default=[])
    parser.add_argument("--stdlib-include", action="append", default=[])
    parser.add_argument("--python-json", help="the distribution's PYTHON.json (its python_stdlib_test_packages are excluded by default)")
    parser.add_argument("--prune", action="store_true")
    parser.add_argument("--sources", action="store_true", help="embed .py sources besides bytecode")
    # The C runtime's settings, in the blob's header (docs/resources-format.md, runtime_flags).
    parser.add_argument("--isolated", action="store_true", help="the interpreter ignores PYTHON* variables (a binary's isolated)")
    parser.add_argument("--python-command-line", action="store_true", help="arguments are taken as python takes them")
    parser.add_argument("--full-finalization", action="store_true", help="end with CPython's full finalization")
    parser.add_argument("--compress", action="store_true", help="zstd-compress module bytecode, with a dictionary trained on it")
    parser.add_argument("--compress-startup-modules", action="store_true",
                        help="with --compress: also the modules imported at start-up (startup_modules)")
    parser.add_argument("--zstandard", metavar="DIR",
                        help="with --compress: the directory holding the zstandard package (the interpreter runs with -S)")
    parser.add_argument("--data-on-disk", action="append", default=[], help="a package whose data files go to --data-dir")
    parser.add_argument("--data-dir", help="with --data-on-disk: the directory to write them to")
    parser.add_argument("--out", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--unused-extensions-out",
                        help="with --prune and --python-json: write the extension modules to leave out of the link, one per line")
    args = parser.parse_args(argv)
    if args.zstandard:
        sys.path.append(args.zstandard)
    try:
        stdlib, app = bundle.load(args.stdlib_bundle), bundle.load(args.app_bundle)
        dist = python_json.load(pathlib.Path(args.python_json), check_paths=False) if args.python_json else None
        test_packages = list(dist.stdlib_test_packages) if dist else []
        large = large_extensions(dist) if dist else []
        if stdlib["optimize"] != app["optimize"]:
            raise PackError(f"bundles compiled at different optimization levels ({stdlib['optimize']}, {app['optimize']})")
        tables, excluded, unused_extensions = select(
            stdlib, app, excludes=args.stdlib_exclude, includes=args.stdlib_include, prune=args.prune,
            test_packages=test_packages, large_extensions=large)
        names = {entry[0] for entry in tables["modules"]}
        if args.main not in names:
            raise PackError(f"main module {args.main!r} is not in the module set")
        for pattern in args.stdlib_include:
            if pattern not in names and pattern not in large:
                raise PackError(f"stdlib_include names {pattern!r}, which is not a module of this distribution's stdlib")
        uncompressed = set() if args.compress_startup_modules else startup_modules(tables["modules"], args.main)
        runtime_flags = ((resources.RUNTIME_ISOLATED if args.isolated else 0)
                         | (resources.RUNTIME_PYTHON_COMMAND_LINE if args.python_command_line else 0)
                         | (resources.RUNTIME_FULL_FINALIZATION if args.full_finalization else 0))
        blob = pack(tables, args.sources, args.compress, uncompressed, runtime_flags)
        if args.data_dir:
            write_data_on_disk(tables, args.data_on_disk, args.data_dir)
    except (PackError, bundle.BundleError, python_json.PythonJsonError, resources.FormatError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    with open(args.out, "wb") as f:
        f.write(blob)
    with open(args.report, "w", encoding="utf-8") as f:
        compressed = {r.name: r.data_length for r in resources.Blob(blob).tables["modules"] if r.flags & resources.COMPRESSED}
        json.dump(report(tables, excluded, args.sources, len(blob), app.get("packages", []), compressed), f, indent=1)
        f.write("\n")
    if args.unused_extensions_out:
        with open(args.unused_extensions_out, "w", encoding="utf-8") as f:
            f.write("".join(name + "\n" for name in unused_extensions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
