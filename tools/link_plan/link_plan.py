"""Plans the link of a standalone binary against a static CPython from its PYTHON.json.

Writes two files for the link action:
- a linker response file: the distribution's object files, then its static libraries in
  dependency order (libpython, the extension modules' libraries, the core's), then system
  libraries, so that single-pass linkers resolve everything;
- a C file defining `rps_register_extensions()`, which adds every extension module that is
  not already in libpython's built-in table (`in_core: false`) to the inittab. When modules
  built into libpython are excluded, it also defines the built-in table itself
  (`_PyImport_Inittab`, read from the distribution's config.c without them), so the linker no
  longer pulls the excluded modules, nor the libraries only they use, into the binary.

    link_plan.py --python-json DIST/PYTHON.json --params link.params --inittab inittab.c \\
        [--exclude-extension NAME ...] [--exclude-extensions-file FILE] \\
        [--export-c-api --hidden-libraries DIR]

With --export-c-api (the binary loads extension modules from wheels and exports the C API), all
of libpython is linked. --hidden-libraries names tools/hide_symbols' copies of the other static
libraries and of the object files (same relative paths), which are linked instead of the
originals: by exporting binaries, and by every library for embedding (py_standalone_library).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import re
import sys

from tools.formats import python_json


class LinkPlanError(Exception):
    pass


# Imported by name while the interpreter starts (by its C code or frozen importlib): a binary
# without one of them cannot start, so they cannot be excluded whatever PYTHON.json says.
NEEDED_AT_STARTUP = frozenset({
    "builtins", "sys", "_imp", "_thread", "_warnings", "_weakref", "_io", "marshal", "posix",
    "_codecs", "_signal", "_abc", "_stat", "_string", "gc", "_tokenize", "_ast", "time",
    "_functools", "_collections", "itertools", "_operator", "_sre", "errno", "atexit",
    "_tracemalloc", "faulthandler", "_suggestions", "_sysconfig", "_typing", "_symtable",
})

# An entry of config.c's `struct _inittab _PyImport_Inittab[]`: {"name", init_function},
_INITTAB_ENTRY = re.compile(r'^\s*\{\s*"([A-Za-z_][A-Za-z0-9_.]*)"\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\s*,', re.M)


@dataclasses.dataclass
class Plan:
    link_args: list[str]
    register: list[tuple[str, str]]  # (module, init function) outside libpython's table
    builtin_table: list[tuple[str, str | None]] | None  # replaces libpython's table when set


def builtin_table(dist: python_json.Distribution, root: str, exclude: set[str]) -> list[tuple[str, str | None]]:
    """libpython's built-in module table (from the distribution's config.c) without `exclude`."""
    if not dist.inittab_source:
        raise LinkPlanError("excluding extension modules built into libpython needs build_info.inittab_source "
                            "(the distribution's config.c) in PYTHON.json, and this distribution has none")
    path = os.path.join(root, dist.inittab_source)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise LinkPlanError(f"cannot read the distribution's inittab source {path}: {e}") from None
    entries = [(name, None if fn == "NULL" else fn) for name, fn in _INITTAB_ENTRY.findall(text)]
    if not any(name == "sys" for name, _ in entries):
        raise LinkPlanError(f"{path} has no _PyImport_Inittab entries ({{\"sys\", NULL}} is missing); "
                            "is build_info.inittab_source CPython's Modules/config.c?")
    return [(name, fn) for name, fn in entries if name not in exclude]


def _link_args(root: str, links, seen: set[str], hidden_root: str | None = None, libpython: str | None = None) -> list[str]:
    """Linker arguments of `links`; static libraries are found under `root`, or under
    `hidden_root` (tools/hide_symbols' copies) when given, except libpython."""
    args = []
    for link in links:
        if link.system:
            arg = "-l" + link.name
        elif link.path_static:
            base = hidden_root if hidden_root and link.path_static != libpython else root
            arg = os.path.join(base, link.path_static)
        elif link.framework:
            continue  # Apple frameworks: not a Linux link input
        else:
            raise LinkPlanError(f"library {link.name!r} has no static path and is not a system library; "
                                "a standalone binary cannot link it")
        if arg not in seen:
            seen.add(arg)
            args.append(arg)
    return args


# The C runtime checks packed resources with liblzma's lzma_crc32 (runtime/rps_blob.c).
RUNTIME_LIBRARY = "lzma"


def runtime_liblzma(dist: python_json.Distribution) -> python_json.Link:
    """The distribution's static liblzma, linked into every binary whatever modules it excludes:
    python-build-standalone lists it as the link of the `_lzma` module, our builds in the core's."""
    links = list(dist.core_links) + [link for name in sorted(dist.extensions)
                                     for variant in dist.extensions[name] for link in variant.links]
    for link in links:
        if link.name == RUNTIME_LIBRARY and link.path_static and not link.system:
            return link
    raise LinkPlanError("PYTHON.json lists no static liblzma (a link named 'lzma' with a path_static, normally "
                        "the _lzma module's): the runtime needs its lzma_crc32 to check packed resources; use a "
                        "distribution built with the lzma module")


def plan(dist: python_json.Distribution, root: str, exclude: set[str], export_c_api: bool = False,
         hidden_libraries: str | None = None) -> Plan:
    """The link inputs and module tables for a binary without the extension modules `exclude`.

    export_c_api: the binary loads extension modules from wheels, which may call any function of
    the C API: all of libpython is linked, not only the archive members the interpreter uses.
    hidden_libraries: the directory of tools/hide_symbols' copies of the static libraries other
    than libpython and of the object files (their symbols hidden but the C API's); they are
    linked instead of the distribution's. Exporting binaries use them so that they export only
    the C API; libraries for embedding (py_standalone_library) always do, so that the host
    program sees none of CPython's bundled libraries."""
    if dist.libpython_link_mode != "static":
        raise LinkPlanError(f"libpython_link_mode is {dist.libpython_link_mode!r}; a standalone binary needs a "
                            "static libpython (a python-build-standalone 'full' archive)")
    for name in sorted(exclude):
        if name not in dist.extensions:
            raise LinkPlanError(f"cannot exclude extension module {name!r}: the distribution has no such module")
        if name in NEEDED_AT_STARTUP or any(v.required for v in dist.extensions[name]):
            raise LinkPlanError(f"extension module {name!r} is required to start the interpreter; it cannot be excluded")
    core_excluded = {name for name in exclude if any(v.in_core for v in dist.extensions[name])}
    table = builtin_table(dist, root, core_excluded) if core_excluded else None
    seen: set[str] = set()
    # python-build-standalone lists libpython's objects (core.objs, plus the inittab object)
    # besides the archive made of them: link the objects, never both. Our own builds list only
    # the archive, which holds the inittab too (docs/python-json.md). A generated table replaces
    # the distribution's: its object is left out, and the archive's is never pulled in.
    # The hidden copies include the objects (all but their C API hidden, tools/hide_symbols).
    objects_root = hidden_libraries or root
    if dist.core_objs:
        objects = [os.path.join(objects_root, obj) for obj in dist.core_objs]
        if dist.inittab_object and table is None:
            objects.append(os.path.join(objects_root, dist.inittab_object))
        libpython = []
    elif dist.core_static_lib:
        objects, libpython = [], [os.path.join(root, dist.core_static_lib)]
        if export_c_api:
            libpython = ["-Wl,--whole-archive"] + libpython + ["-Wl,--no-whole-archive"]
    else:
        raise LinkPlanError("PYTHON.json has neither build_info.core.objs nor build_info.core.static_lib")
    extension_libs: list[str] = []
    register = []
    system_links = []
    for name in sorted(dist.extensions):
        if name in exclude:
            continue
        variants = dist.extensions[name]
        chosen = next((v for v in variants if v.in_core), None) or variants[0]
        if not chosen.in_core:
            if not chosen.init_fn:
                raise LinkPlanError(f"extension module {name!r} has no init_fn in PYTHON.json")
            register.append((name, chosen.init_fn))
            objects += [os.path.join(objects_root, obj) for obj in chosen.objs]
        for link in chosen.links:
            (system_links if link.system else extension_libs).extend(
                _link_args(root, [link], seen, hidden_libraries, dist.core_static_lib))
    core_libs = _link_args(root, [l for l in dist.core_links if not l.system], seen, hidden_libraries, dist.core_static_lib)
    core_libs += _link_args(root, [runtime_liblzma(dist)], seen, hidden_libraries, dist.core_static_lib)
    core_system = _link_args(root, [l for l in dist.core_links if l.system], seen)
    # Objects first, then archives in dependency order (libpython before the libraries it uses),
    # so single-pass linkers (GNU ld) resolve everything too.
    link_args = objects + libpython + extension_libs + core_libs + core_system + system_links
    for arg in link_args:
        if any(c.isspace() for c in arg):
            raise LinkPlanError(f"path {arg!r} contains white space, which a response file cannot carry")
    return Plan(link_args, register, table)


def inittab_source(plan: Plan) -> str:
    lines = ["/* Generated by tools/link_plan: the binary's extension module tables. */",
             "#include <Python.h>", ""]
    functions = [fn for _, fn in plan.register]
    functions += [fn for _, fn in plan.builtin_table or [] if fn]
    lines += [f"extern PyObject *{fn}(void);" for fn in dict.fromkeys(functions)]
    if plan.builtin_table is not None:
        lines += ["", "/* Replaces libpython's table (config.c), without the excluded modules. */",
                  "struct _inittab _PyImport_Inittab[] = {"]
        lines += [f'    {{"{name}", {fn or "NULL"}}},' for name, fn in plan.builtin_table]
        lines += ["    {0, 0}", "};"]
    lines += ["", "int rps_register_extensions(void) {"]
    lines += [f'    if (PyImport_AppendInittab("{name}", {fn}) < 0) return -1;' for name, fn in plan.register]
    lines += ["    return 0;", "}", ""]
    return "\n".join(lines)


def _names_file(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError as e:
        raise LinkPlanError(f"cannot read {path}: {e}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python-json", required=True)
    parser.add_argument("--params", required=True)
    parser.add_argument("--inittab", required=True)
    parser.add_argument("--exclude-extension", action="append", default=[])
    parser.add_argument("--exclude-extensions-file", help="more names to exclude, one per line (tools/pack's prune list)")
    parser.add_argument("--export-c-api", action="store_true", help="link all of libpython (extension modules from wheels use its C API)")
    parser.add_argument("--hidden-libraries", help="tools/hide_symbols' output: link its copies of the static libraries instead")
    args = parser.parse_args(argv)
    try:
        dist = python_json.load(pathlib.Path(args.python_json))
        exclude = set(args.exclude_extension)
        if args.exclude_extensions_file:
            exclude.update(_names_file(args.exclude_extensions_file))
        result = plan(dist, os.path.dirname(args.python_json), exclude, args.export_c_api, args.hidden_libraries)
    except (python_json.PythonJsonError, LinkPlanError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    with open(args.params, "w", encoding="utf-8") as f:
        f.write("\n".join(result.link_args) + "\n")
    with open(args.inittab, "w", encoding="utf-8") as f:
        f.write(inittab_source(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
