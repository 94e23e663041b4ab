"""Reads and validates a CPython distribution's PYTHON.json (format version 8).

One reader for our own builds and for python-build-standalone archives; the format and the
checks are in docs/python-json.md. CLI: `python_json.py PATH [--no-path-checks] [--json]`
validates (also that the files it names exist, unless told not to) and prints a summary (or the
parsed model as JSON).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path, PurePosixPath
from typing import Any

SUPPORTED_VERSIONS = ("8",)
_TRIPLE = re.compile(r"^[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+(-[a-z0-9_.]+)?$")
_MAJOR_MINOR = re.compile(r"^(\d+)\.(\d+)$")
_GLIBC_FEATURE = re.compile(r"^glibc-max-symbol-version:(\d+)\.(\d+)(?:\.(\d+))?$")
_KNOWN_CRT_FEATURES = re.compile(
    r"^(glibc-dynamic|glibc-max-symbol-version:[\d.]+|static|musl-dynamic|musl-version:[\d.]+"
    r"|vcruntime:\d+|libSystem)$"
)


class PythonJsonError(Exception):
    """PYTHON.json is unreadable or breaks the format; the message names the field."""


@dataclasses.dataclass(frozen=True)
class Link:
    """A library a link needs."""

    name: str
    path_static: str | None = None
    path_dynamic: str | None = None
    system: bool = False
    framework: bool = False


@dataclasses.dataclass(frozen=True)
class Extension:
    """One variant of an extension module."""

    name: str
    in_core: bool
    init_fn: str | None
    objs: tuple[str, ...]
    links: tuple[Link, ...]
    required: bool
    variant: str


@dataclasses.dataclass(frozen=True)
class Distribution:
    """The parts of PYTHON.json a relinker and the build steps use."""

    version: str
    target_triple: str
    python_version: str
    python_major_minor_version: str
    python_tag: str
    bytecode_magic_number: bytes
    python_exe: str
    python_paths: dict[str, str]
    stdlib_test_packages: tuple[str, ...]
    extension_module_loading: tuple[str, ...]
    libpython_link_mode: str
    crt_features: tuple[str, ...]
    core_objs: tuple[str, ...]
    core_links: tuple[Link, ...]
    core_static_lib: str | None
    extensions: dict[str, tuple[Extension, ...]]
    build_options: str | None
    licenses: tuple[str, ...]
    inittab_source: str | None
    inittab_object: str | None
    object_file_format: str | None

    @property
    def glibc_max_symbol_version(self) -> tuple[int, ...] | None:
        for feature in self.crt_features:
            match = _GLIBC_FEATURE.match(feature)
            if match:
                return tuple(int(g) for g in match.groups() if g is not None)
        return None

    @property
    def stdlib(self) -> str:
        return self.python_paths["stdlib"]

    def builtin_extensions(self) -> list[Extension]:
        """The in-core variant of every extension module, sorted by name."""
        found = []
        for name in sorted(self.extensions):
            for variant in self.extensions[name]:
                if variant.in_core:
                    found.append(variant)
                    break
        return found


class _Reader:
    """Type-checked access to the JSON document, with errors naming the field."""

    def __init__(self, doc: Any, origin: str, root: Path | None) -> None:
        self.doc = doc
        self.origin = origin
        self.root = root

    def fail(self, where: str, message: str) -> PythonJsonError:
        return PythonJsonError(f"{self.origin}: {where}: {message}")

    def get(self, obj: Any, key: str, where: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(where, "expected an object")
        if key not in obj or obj[key] is None:
            if optional:
                return None
            raise self.fail(f"{where}.{key}" if where else key, "missing")
        value = obj[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(f"{where}.{key}" if where else key, f"expected {names}, got {type(value).__name__}")
        return value

    def strings(self, obj: Any, key: str, where: str, optional: bool = False) -> tuple[str, ...]:
        values = self.get(obj, key, where, list, optional)
        if values is None:
            return ()
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self.fail(f"{where}.{key}[{index}]", f"expected str, got {type(value).__name__}")
        return tuple(values)

    def path(self, value: str, where: str, must_exist: bool = True) -> str:
        pure = PurePosixPath(value)
        if pure.is_absolute() or ".." in pure.parts or not value:
            raise self.fail(where, f"{value!r} must be a relative path inside the distribution")
        if must_exist and self.root is not None and not (self.root / value).exists():
            raise self.fail(where, f"{value} does not exist under {self.root}")
        return value

    def link(self, obj: Any, where: str) -> Link:
        name = self.get(obj, "name", where, str)
        path_static = self.get(obj, "path_static", where, str, optional=True)
        path_dynamic = self.get(obj, "path_dynamic", where, str, optional=True)
        system = bool(self.get(obj, "system", where, bool, optional=True))
        framework = bool(self.get(obj, "framework", where, bool, optional=True))
        kinds = sum(x is not None and x is not False for x in (path_static, path_dynamic, system or None, framework or None))
        if kinds > 1 and not (path_static and path_dynamic):
            raise self.fail(where, f"link {name!r} sets more than one of path_static/path_dynamic, system, framework")
        if path_static is not None:
            self.path(path_static, f"{where}.path_static")
        if path_dynamic is not None:
            self.path(path_dynamic, f"{where}.path_dynamic")
        return Link(name, path_static, path_dynamic, system, framework)

    def links(self, obj: Any, where: str) -> tuple[Link, ...]:
        entries = self.get(obj, "links", where, list)
        return tuple(self.link(entry, f"{where}.links[{i}]") for i, entry in enumerate(entries))


def parse(doc: Any, origin: str = "PYTHON.json", root: Path | None = None) -> Distribution:
    """Validates a decoded PYTHON.json document; `root` (the `python/` directory) enables path checks."""
    r = _Reader(doc, origin, root)
    if not isinstance(doc, dict):
        raise r.fail("(top level)", "expected a JSON object")
    version = doc.get("version")
    if str(version) not in SUPPORTED_VERSIONS or isinstance(version, bool):
        raise r.fail("version", f"format version {version!r} is not supported (supported: {', '.join(SUPPORTED_VERSIONS)})")

    triple = r.get(doc, "target_triple", "", str)
    if not _TRIPLE.match(triple):
        raise r.fail("target_triple", f"{triple!r} is not an <arch>-<vendor>-<os>[-<env>] triple")
    major_minor = r.get(doc, "python_major_minor_version", "", str)
    match = _MAJOR_MINOR.match(major_minor)
    if not match:
        raise r.fail("python_major_minor_version", f"{major_minor!r} is not X.Y")
    python_version = r.get(doc, "python_version", "", str)
    if not (python_version == major_minor or python_version.startswith(major_minor + ".")):
        raise r.fail("python_version", f"{python_version!r} does not match python_major_minor_version {major_minor}")
    tag = r.get(doc, "python_tag", "", str)
    if tag != f"cp{match.group(1)}{match.group(2)}":
        raise r.fail("python_tag", f"{tag!r} does not match Python {major_minor}")
    magic_hex = r.get(doc, "python_bytecode_magic_number", "", str)
    try:
        magic = bytes.fromhex(magic_hex)
    except ValueError as err:
        raise r.fail("python_bytecode_magic_number", f"{magic_hex!r} is not hex") from err
    if len(magic) != 4 or magic[2:] != b"\r\n":
        raise r.fail("python_bytecode_magic_number", f"{magic_hex!r} is not a 4-byte magic ending in \\r\\n")

    python_exe = r.path(r.get(doc, "python_exe", "", str), "python_exe")
    paths = r.get(doc, "python_paths", "", dict)
    for key, value in paths.items():
        if not isinstance(value, str):
            raise r.fail(f"python_paths.{key}", "expected str")
        r.path(value, f"python_paths.{key}", must_exist=key == "stdlib")
    if "stdlib" not in paths:
        raise r.fail("python_paths.stdlib", "missing")

    test_packages = r.strings(doc, "python_stdlib_test_packages", "")
    loading = r.strings(doc, "python_extension_module_loading", "")
    unknown = set(loading) - {"builtin", "shared-library"}
    if unknown:
        raise r.fail("python_extension_module_loading", f"unknown value(s) {sorted(unknown)}")
    link_mode = r.get(doc, "libpython_link_mode", "", str)
    if link_mode not in ("static", "shared"):
        raise r.fail("libpython_link_mode", f"{link_mode!r} is neither 'static' nor 'shared'")
    crt_features = r.strings(doc, "crt_features", "")
    for index, feature in enumerate(crt_features):
        if not _KNOWN_CRT_FEATURES.match(feature):
            raise r.fail(f"crt_features[{index}]", f"unknown feature {feature!r}")

    build_info = r.get(doc, "build_info", "", dict)
    core = r.get(build_info, "core", "build_info", dict)
    core_objs = tuple(r.path(o, f"build_info.core.objs[{i}]") for i, o in enumerate(r.strings(core, "objs", "build_info.core")))
    core_links = r.links(core, "build_info.core")
    static_lib = r.get(core, "static_lib", "build_info.core", str, optional=True)
    if static_lib is not None:
        r.path(static_lib, "build_info.core.static_lib")
    if link_mode == "static" and static_lib is None and not core_objs:
        raise r.fail("build_info.core", "a static libpython needs static_lib or objs")

    extensions: dict[str, tuple[Extension, ...]] = {}
    for name, variants in r.get(build_info, "extensions", "build_info", dict).items():
        where = f"build_info.extensions.{name}"
        if not isinstance(variants, list) or not variants:
            raise r.fail(where, "expected a non-empty array of variants")
        parsed = []
        for index, variant in enumerate(variants):
            at = f"{where}[{index}]"
            in_core = r.get(variant, "in_core", at, bool)
            init_fn = r.get(variant, "init_fn", at, str, optional=True)
            if in_core and not init_fn:
                raise r.fail(f"{at}.init_fn", "a built-in (in_core) module needs its init function")
            objs = tuple(r.path(o, f"{at}.objs[{i}]") for i, o in enumerate(r.strings(variant, "objs", at)))
            parsed.append(Extension(
                name=name,
                in_core=in_core,
                init_fn=init_fn,
                objs=objs,
                links=r.links(variant, at),
                required=bool(r.get(variant, "required", at, bool, optional=True)),
                variant=r.get(variant, "variant", at, str, optional=True) or "default",
            ))
        extensions[name] = tuple(parsed)

    inittab_source = r.get(build_info, "inittab_source", "build_info", str, optional=True)
    if inittab_source is not None:
        r.path(inittab_source, "build_info.inittab_source")
    inittab_object = r.get(build_info, "inittab_object", "build_info", str, optional=True)
    if inittab_object is not None:
        r.path(inittab_object, "build_info.inittab_object")
    build_options = r.get(doc, "build_options", "", str, optional=True) or r.get(doc, "optimizations", "", str, optional=True)
    return Distribution(
        version=str(version),
        target_triple=triple,
        python_version=python_version,
        python_major_minor_version=major_minor,
        python_tag=tag,
        bytecode_magic_number=magic,
        python_exe=python_exe,
        python_paths=dict(paths),
        stdlib_test_packages=test_packages,
        extension_module_loading=loading,
        libpython_link_mode=link_mode,
        crt_features=crt_features,
        core_objs=core_objs,
        core_links=core_links,
        core_static_lib=static_lib,
        extensions=extensions,
        build_options=build_options,
        licenses=r.strings(doc, "licenses", "", optional=True),
        inittab_source=inittab_source,
        inittab_object=inittab_object,
        object_file_format=r.get(build_info, "object_file_format", "build_info", str, optional=True),
    )


def load(path: Path, check_paths: bool = True) -> Distribution:
    """Reads `path` (a PYTHON.json); with `check_paths`, its directory is the distribution root."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise PythonJsonError(f"{path}: cannot read: {err.strerror}") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PythonJsonError(f"{path}: not valid JSON: {err}") from err
    return parse(doc, str(path), path.parent if check_paths else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="PYTHON.json")
    parser.add_argument("--no-path-checks", action="store_true", help="do not require the files it names")
    parser.add_argument("--json", action="store_true", help="print the parsed model as JSON")
    args = parser.parse_args(argv)
    try:
        dist = load(args.path, check_paths=not args.no_path_checks)
    except PythonJsonError as err:
        print(f"python_json: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(dataclasses.asdict(dist), default=lambda b: b.hex(), indent=2, sort_keys=True))
    else:
        builtins = dist.builtin_extensions()
        print(f"{args.path}: CPython {dist.python_version} for {dist.target_triple}, "
              f"libpython {dist.libpython_link_mode}, {len(builtins)} built-in extension modules, "
              f"crt: {', '.join(dist.crt_features) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
