"""Writes PYTHON.json (format 8) for a CPython distribution we built (docs/python-json.md).

Runs as the last step of the CPython build action, on the host's python3: everything it
reports is read from files (the installed _sysconfigdata, the build's config.c and Makefile,
the interpreter's ELF headers), so it works for cross builds the host cannot run.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from tools.formats import python_json

_INITTAB_ENTRY = re.compile(r'\{"(\w+)",\s*(\w+)\}')
_MAGIC_PY = re.compile(r"MAGIC_NUMBER\s*=\s*\((\d+)\)\.to_bytes\(2,\s*'little'\)\s*\+\s*b'\\r\\n'")
_MAGIC_H = re.compile(r"#define\s+PYC_MAGIC_NUMBER\s+(\d+)")
_MODULE_LDFLAGS = re.compile(r"^MODULE_(\w+)_LDFLAGS\s*=(.*)$", re.MULTILINE)
# Archives of the libraries CPython bundles (libmpdec, expat, HACL*): LIBMPDEC_A= Modules/.../libmpdec.a
_BUNDLED_ARCHIVE = re.compile(r"^(LIB\w+_A)\s*=\s*(\S+/lib(\w+)\.a)\s*$", re.MULTILINE)
_GLIBC_VERSION = re.compile(r"^GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")
# The system libraries a Linux CPython links; anything else must be a static archive we ship.
SYSTEM_LIBRARIES = ("m", "dl", "pthread", "rt", "util", "c")
# Packages only CPython's own tests use (python-build-standalone excludes them the same way).
_TEST_PACKAGE_PARTS = {"test", "tests", "idle_test"}


class GenerateError(Exception):
    """An input of the generator is missing or not what a CPython build produces."""


_AR_MAGIC = b"!<arch>\n"
_BITCODE_MAGICS = (b"BC\xc0\xde", b"\xde\xc0\x17\x0b")
_CLANG_VERSION = re.compile(r"clang version (\d+\.\d+\.\d+)")


def archive_holds_bitcode(archive: Path) -> bool:
    """Whether any member of the static library `archive` is LLVM bitcode (an LTO build)."""
    data = archive.read_bytes()
    if not data.startswith(_AR_MAGIC):
        raise GenerateError(f"{archive} is not a static library (no '!<arch>' header)")
    offset = len(_AR_MAGIC)
    while offset + 60 <= len(data):
        header = data[offset:offset + 60]
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            raise GenerateError(f"{archive}: malformed member header at offset {offset}") from None
        name = header[:16].rstrip()
        body = data[offset + 60:offset + 60 + size]
        if name not in (b"/", b"//", b"/SYM64/") and body[:4] in _BITCODE_MAGICS:
            return True
        offset += 60 + size + (size & 1)
    return False


def clang_version(cc: str) -> str:
    """X.Y.Z of the clang that `cc --version` reports (zig cc is clang)."""
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        raise GenerateError(f"cannot run {cc} --version to name the LLVM version of the bitcode: {err}") from err
    match = _CLANG_VERSION.search(out)
    if not match:
        raise GenerateError(f"{cc} --version names no clang version: {out.strip()[:200]!r}")
    return match.group(1)


def sysconfig_vars(stdlib: Path) -> dict[str, Any]:
    """The build_time_vars dict of the installed _sysconfigdata module, read without importing it."""
    candidates = sorted(stdlib.glob("_sysconfigdata_*.py"))
    if len(candidates) != 1:
        raise GenerateError(f"expected one _sysconfigdata_*.py in {stdlib}, found {len(candidates)}")
    tree = ast.parse(candidates[0].read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "build_time_vars" for t in node.targets):
            return ast.literal_eval(node.value)
    raise GenerateError(f"{candidates[0]} has no build_time_vars")


def magic_number(src: Path) -> bytes:
    """importlib's MAGIC_NUMBER, from the source tree (3.11-3.13 in Python, 3.14+ in a header)."""
    bootstrap = src / "Lib/importlib/_bootstrap_external.py"
    match = _MAGIC_PY.search(bootstrap.read_text()) if bootstrap.exists() else None
    if not match:
        header = src / "Include/internal/pycore_magic_number.h"
        match = _MAGIC_H.search(header.read_text()) if header.exists() else None
    if not match:
        raise GenerateError(f"cannot find the bytecode magic number in {src}")
    return int(match.group(1)).to_bytes(2, "little") + b"\r\n"


def inittab(config_c: Path) -> dict[str, str]:
    """Module name -> init function of every built-in module with one."""
    entries = {}
    for name, init in _INITTAB_ENTRY.findall(config_c.read_text()):
        if init != "NULL":
            entries[name] = init
    if not entries:
        raise GenerateError(f"{config_c} lists no built-in modules")
    return entries


def bundled_archives(makefile: Path) -> dict[str, str]:
    """Makefile variable -> library name of the static libraries CPython builds from its own
    copies (LIBMPDEC_A -> mpdec, LIBEXPAT_A -> expat, LIBHACL_SHA2_A -> Hacl_Hash_SHA2)."""
    return {var: name for var, _, name in _BUNDLED_ARCHIVE.findall(makefile.read_text())}


def module_link_names(makefile: Path) -> dict[str, list[str]]:
    """Module name -> libraries from the Makefile's MODULE_<NAME>_LDFLAGS (-l flags and the
    bundled archives' $(LIB..._A) variables)."""
    archives = bundled_archives(makefile)
    result: dict[str, list[str]] = {}
    for var, value in _MODULE_LDFLAGS.findall(makefile.read_text()):
        libs = []
        for flag in value.split():
            if flag.startswith("-l"):
                libs.append(flag[2:])
            elif flag.startswith("$(") and flag[2:-1] in archives:
                libs.append(archives[flag[2:-1]])
        if libs:
            result[var.lower()] = libs
    return result


def link_entry(name: str, lib_dir: Path, root: Path) -> dict[str, Any]:
    archive = lib_dir / f"lib{name}.a"
    if archive.exists():
        return {"name": name, "path_static": archive.relative_to(root).as_posix()}
    if name in SYSTEM_LIBRARIES:
        return {"name": name, "system": True}
    raise GenerateError(f"library {name!r} is neither shipped in {lib_dir} nor a system library")


def glibc_max_version(executable: Path) -> tuple[int, ...] | None:
    """The newest GLIBC_x.y symbol version the executable needs (None: no glibc)."""
    newest: tuple[int, ...] | None = None
    try:
        with executable.open("rb") as f:
            for section in ELFFile(f).iter_sections():
                if isinstance(section, GNUVerNeedSection):
                    for _, auxiliaries in section.iter_versions():
                        for aux in auxiliaries:
                            match = _GLIBC_VERSION.match(aux.name)
                            if match:
                                version = tuple(int(g) for g in match.groups() if g is not None)
                                newest = max(newest, version) if newest else version
    except (OSError, ELFError) as err:
        raise GenerateError(f"cannot read {executable} as ELF: {err}") from err
    return newest


def test_packages(stdlib: Path) -> list[str]:
    packages = []
    for dirpath, dirnames, filenames in os.walk(stdlib):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__"))
        rel = Path(dirpath).relative_to(stdlib)
        if rel.parts and "__init__.py" in filenames and _TEST_PACKAGE_PARTS & set(rel.parts):
            packages.append(".".join(rel.parts))
    return sorted(packages)


def generate(root: Path, src: Path, target_triple: str, libc: str, build_options: str,
             object_file_format: str = "elf") -> dict[str, Any]:
    """Builds the PYTHON.json document for the distribution at `root` (the python/ directory).

    `object_file_format`: "elf", or "llvm-bitcode:X.Y.Z" for an LTO build (python-build-standalone's
    notation): the objects of libpython are LLVM bitcode that only an LTO-capable linker of that
    LLVM version or newer links."""
    installs = sorted((root / "install/lib").glob("python3.*"))
    if len(installs) != 1:
        raise GenerateError(f"expected one install/lib/python3.X in {root}")
    stdlib = installs[0]
    major_minor = stdlib.name[len("python"):]
    config = sysconfig_vars(stdlib)
    version = str(config["VERSION"])
    if version != major_minor:
        raise GenerateError(f"sysconfig VERSION {version} does not match {stdlib.name}")
    full_version = src.name.split("-", 1)[1] if "-" in src.name else version
    major, minor = major_minor.split(".")
    abiflags = str(config.get("ABIFLAGS", ""))
    exe = f"install/bin/python{major_minor}{abiflags}"
    lib_dir = root / "build/lib"
    static_lib = lib_dir / f"libpython{major_minor}{abiflags}.a"
    if not static_lib.exists():
        raise GenerateError(f"{static_lib} is missing")
    # libpython's own objects first need the bundled archives, which need nothing shipped.
    bundled = [n for n in bundled_archives(src / "Makefile").values() if (lib_dir / f"lib{n}.a").exists()]
    core_link_names = bundled + [n for n in ("ssl", "crypto", "ffi", "lzma", "bz2", "z", "uuid", "sqlite3") if (lib_dir / f"lib{n}.a").exists()]
    core_link_names += [flag[2:] for flag in str(config.get("LIBS", "")).split() if flag.startswith("-l")]
    core_link_names += [flag[2:] for flag in str(config.get("LIBM", "")).split() if flag.startswith("-l")]
    core_links = [link_entry(name, lib_dir, root) for name in dict.fromkeys(core_link_names)]

    module_libs = module_link_names(src / "Makefile")
    extensions = {}
    for name, init_fn in sorted(inittab(src / "Modules/config.c").items()):
        links = [link_entry(lib, lib_dir, root) for lib in module_libs.get(name, [])]
        extensions[name] = [{
            "in_core": True,
            "init_fn": init_fn,
            "links": links,
            "objs": [],
            "required": False,
            "variant": "default",
        }]

    if libc == "musl":
        crt_features = ["static"]
    else:
        glibc = glibc_max_version(root / exe)
        if glibc is None:
            raise GenerateError(f"{exe} needs no glibc symbol versions; is it really a glibc build?")
        crt_features = ["glibc-dynamic", "glibc-max-symbol-version:" + ".".join(map(str, glibc))]

    stdlib_rel = stdlib.relative_to(root).as_posix()
    include_rel = f"install/include/python{major_minor}{abiflags}"
    doc = {
        "version": "8",
        "target_triple": target_triple,
        "build_options": build_options,
        "optimizations": build_options,
        "python_tag": f"cp{major}{minor}",
        "python_abi_tag": abiflags,
        "python_platform_tag": f"linux-{target_triple.split('-')[0]}",
        "python_implementation_cache_tag": f"cpython-{major}{minor}",
        "python_implementation_name": "cpython",
        "python_version": full_version,
        "python_major_minor_version": major_minor,
        "python_exe": exe,
        "python_paths": {
            "data": "install",
            "include": include_rel,
            "platinclude": include_rel,
            "platlib": f"{stdlib_rel}/site-packages",
            "platstdlib": stdlib_rel,
            "purelib": f"{stdlib_rel}/site-packages",
            "scripts": "install/bin",
            "stdlib": stdlib_rel,
        },
        "python_config_vars": {k: str(v) for k, v in sorted(config.items())},
        "python_stdlib_test_packages": test_packages(stdlib),
        "python_suffixes": {
            "bytecode": [".pyc"],
            "debug_bytecode": [".pyc"],
            "extension": [str(config.get("EXT_SUFFIX", ".so")), ".abi3.so", ".so"],
            "optimized_bytecode": [".pyc"],
            "source": [".py"],
        },
        "python_bytecode_magic_number": magic_number(src).hex(),
        "python_symbol_visibility": "global-default",
        "python_extension_module_loading": ["builtin"],
        "libpython_link_mode": "static",
        "crt_features": crt_features,
        "build_info": {
            "core": {
                "objs": [],
                "links": core_links,
                "static_lib": static_lib.relative_to(root).as_posix(),
            },
            "extensions": extensions,
            "inittab_source": "build/Modules/config.c",
            "object_file_format": object_file_format,
        },
        "licenses": ["Python-2.0"],
        "license_path": "licenses/LICENSE.cpython.txt",
    }
    # Whatever we write must pass our own reader.
    python_json.parse(json.loads(json.dumps(doc)), "generated PYTHON.json", root)
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the python/ directory (install/, build/)")
    parser.add_argument("--src", type=Path, required=True, help="the CPython build tree")
    parser.add_argument("--target-triple", required=True)
    parser.add_argument("--libc", choices=("gnu", "musl"), required=True)
    parser.add_argument("--build-options", help="default: noopt (lto when libpython holds LLVM bitcode), +static for musl")
    parser.add_argument("--cc", default="cc", help="the compiler of the build; its clang version names LLVM bitcode (default: cc)")
    parser.add_argument("--out", type=Path, help="default: ROOT/PYTHON.json")
    args = parser.parse_args(argv)
    try:
        libpython = sorted((args.root / "build/lib").glob("libpython3.*.a"))
        bitcode = bool(libpython) and archive_holds_bitcode(libpython[0])
        build_options = args.build_options or ("lto" if bitcode else "noopt") + ("+static" if args.libc == "musl" else "")
        object_file_format = f"llvm-bitcode:{clang_version(args.cc)}" if bitcode else "elf"
        doc = generate(args.root, args.src, args.target_triple, args.libc, build_options, object_file_format)
    except (GenerateError, python_json.PythonJsonError, OSError, KeyError, ValueError, SyntaxError) as err:
        print(f"make_python_json: {err}", file=sys.stderr)
        return 1
    (args.out or args.root / "PYTHON.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
