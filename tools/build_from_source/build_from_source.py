"""Builds a third-party C library (or tool) from a source archive, as one Bazel action.

The recipe (JSON, written by toolchains/private/source_build.bzl) names the archive, the
commands to run in the unpacked tree, and what to copy out. Commands run with the hermetic
zig toolchain as CC/AR/RANLIB and the host's POSIX shell utilities on PATH. Placeholders in
commands and environment values:

  {src}      the unpacked source tree (the working directory of every command)
  {prefix}   the install prefix (its include/ and lib/ become the output)
  {recorded_prefix}  what outputs record instead of {prefix} (/rps-build/<name>/prefix): a
             program that opens files under its prefix at run time is configured with
             --prefix={recorded_prefix} and installed with DESTDIR={prefix}
  {jobs}     parallel jobs for make
  {host}     the autoconf host triple of the target (x86_64-linux-gnu, ...)
  {cpu}      its first part (x86_64, aarch64)
  {libc}     gnu or musl
  {cc} {ar} {ranlib}   the toolchain's programs (absolute)
  {dep:NAME} the output directory of dependency NAME (absolute)
For glibc targets, LDFLAGS also gets the toolchain's libm_forward.o.
  {tool:NAME} an executable dependency NAME (absolute), e.g. {tool:make}

Everything happens in a fresh directory private to the action and the user (mode 0700, made
by mkdtemp under $TMPDIR, never a shared or predictable path). Outputs must not depend on that
directory's name: the compiler maps it to /rps-build/<name> (-ffile-prefix-map), text outputs
get the same replacement afterwards, `.pyc` files whose source changed are recompiled with the
recipe's `pyc_python`, and any other output that still holds the directory's name fails the
build, naming the file and offset. A failing command ends the action with the last lines of its
output and the command that failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"\{(src|prefix|recorded_prefix|jobs|host|cpu|libc|cc|ar|ranlib|dep:[A-Za-z0-9_]+|tool:[A-Za-z0-9_]+)\}")


# Where outputs say they were built: the same for every checkout, user and action.
CANONICAL_ROOT = "/rps-build"

# Recompiles `.pyc` files (pairs of arguments: pyc, source) keeping what make install chose:
# the invalidation mode (header flags), the optimization level (file name) and co_filename.
_RECOMPILE_PYC = """
import marshal, py_compile, re, sys
modes = {0: py_compile.PycInvalidationMode.TIMESTAMP, 1: py_compile.PycInvalidationMode.UNCHECKED_HASH,
         3: py_compile.PycInvalidationMode.CHECKED_HASH}
args = sys.argv[1:]
for pyc, source in zip(args[::2], args[1::2]):
    with open(pyc, "rb") as f:
        data = f.read()
    flags = int.from_bytes(data[4:8], "little")
    level = re.search(r"\\.opt-([12])\\.pyc$", pyc)
    py_compile.compile(source, cfile=pyc, dfile=marshal.loads(data[16:]).co_filename, doraise=True,
                       optimize=int(level.group(1)) if level else 0, invalidation_mode=modes[flags])
"""


class RecipeError(Exception):
    """A recipe or a build step failed; the message says which and why."""


def expand(text: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise RecipeError(f"unknown placeholder {{{key}}} in {text!r}")
        return values[key]

    return _PLACEHOLDER.sub(replace, text)


def unpack(archive: Path, dest: Path) -> Path:
    """Unpacks `archive` into `dest`; returns the single top-level directory it holds."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for member in members:
                name = member.name
                if name.startswith("/") or ".." in Path(name).parts:
                    raise RecipeError(f"{archive.name}: unsafe member path {name!r}")
                # Owned by whoever runs the build: foreign uids are unmapped inside Bazel's
                # sandbox namespace and then not even executable.
                member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
            tar.extractall(dest, members=members, numeric_owner=True)
    except (tarfile.TarError, OSError) as err:
        raise RecipeError(f"cannot unpack {archive}: {err}") from err
    entries = [p for p in dest.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest


def run_step(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    started = time.monotonic()
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        try:
            code = subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
        except OSError as err:
            raise RecipeError(f"cannot run {argv[0]}: {err}") from err
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        raise RecipeError(
            f"step failed (exit {code}) after {time.monotonic() - started:.0f} s: {' '.join(argv)}\n"
            + "\n".join(tail)
        )


def copy_outputs(prefix: Path, src: Path, out: Path, outputs: dict[str, Any], values: dict[str, str]) -> None:
    """Copies declared outputs: {"dest relative path": "source path (may use {prefix}/{src})"}."""
    out.mkdir(parents=True, exist_ok=True)
    for dest_rel, source in sorted(outputs.items()):
        source_path = Path(expand(source, values))
        dest = out / dest_rel
        if not source_path.exists():
            raise RecipeError(f"declared output {source} does not exist after the build")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source_path.is_dir():
            shutil.copytree(source_path, dest, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(source_path, dest)


def _is_text(data: bytes) -> bool:
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def map_build_paths(out: Path, work: Path, canonical: str, pyc_python: str | None, env: dict[str, str]) -> None:
    """Replaces the private build directory's name in the outputs by `canonical` (see the
    module docstring); fails naming the first output that still holds it."""
    needle, replacement = str(work).encode(), canonical.encode()
    stale_pycs: dict[Path, Path] = {}
    rewritten_sources: list[Path] = []
    for path in sorted(out.rglob("*")):
        if path.is_symlink():
            if needle in os.readlink(path).encode():
                raise RecipeError(f"output {path.relative_to(out)} is a symbolic link into the build directory")
            continue
        if not path.is_file():
            continue
        data = path.read_bytes()
        offset = data.find(needle)
        if offset < 0:
            continue
        if _is_text(data):
            stat = path.stat()
            path.chmod(stat.st_mode | 0o200)
            path.write_bytes(data.replace(needle, replacement))
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            path.chmod(stat.st_mode)
            if path.suffix == ".py":
                rewritten_sources.append(path)
        elif path.suffix == ".pyc" and path.parent.name == "__pycache__":
            source = path.parent.parent / (path.name.split(".")[0] + ".py")
            if not source.is_file():
                raise RecipeError(f"output {path.relative_to(out)} holds the build directory's name and has no source beside it")
            stale_pycs[path] = source
        else:
            raise RecipeError(
                f"output {path.relative_to(out)} holds the build directory's name at offset {offset} "
                f"({needle.decode()!r}); compile it through the recipe's {{cc}} (which maps it to "
                f"{canonical}) or leave the file out of the outputs")
    # A rewritten source changes size and hash, so each of its .pyc files is stale too.
    for source in rewritten_sources:
        for pyc in (source.parent / "__pycache__").glob(source.stem + ".*.pyc"):
            stale_pycs[pyc] = source
    if not stale_pycs:
        return
    if not pyc_python:
        raise RecipeError(f"{next(iter(stale_pycs)).relative_to(out)} must be recompiled after its source's build paths "
                          "were mapped, and the recipe names no pyc_python")
    argv = [pyc_python, "-E", "-s", "-S", "-c", _RECOMPILE_PYC]
    for pyc, source in sorted(stale_pycs.items()):
        argv += [str(pyc), str(source)]
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode:
        raise RecipeError(f"recompiling {len(stale_pycs)} .pyc files failed (exit {result.returncode}):\n"
                          f"{result.stderr[-4000:]}")
    for pyc in stale_pycs:
        if needle in pyc.read_bytes():
            raise RecipeError(f"output {pyc.relative_to(out)} still holds the build directory's name after recompiling "
                              "(its co_filename?)")


def build(recipe: dict[str, Any], work: Path, out: Path) -> None:
    """Runs the recipe in `work`, a fresh private directory the caller made and removes."""
    work = work.resolve()
    canonical = f"{CANONICAL_ROOT}/{recipe['name']}"
    src = unpack(Path(recipe["archive"]), work / "src")
    prefix = work / "prefix"
    prefix.mkdir(parents=True)
    # Inputs are reached through fixed paths under `work`, never through the sandbox's own
    # (which changes from action to action), so no build output records a sandbox path.
    bin_dir = work / "bin"
    bin_dir.mkdir()
    programs = {"cc": recipe["cc"], "ar": recipe["ar"], "ranlib": recipe["ranlib"], "ld": recipe["ld"],
                **recipe.get("tools", {})}
    if recipe.get("cc_for_build"):
        # Build-time helper programs must run here: configure scripts look for gcc or take
        # BUILD_CC / CC_FOR_BUILD; all of them get zig for the exec platform, never the host's gcc.
        programs["cc_for_build"] = programs["gcc"] = recipe["cc_for_build"]
    for name, path in programs.items():
        real = Path(path).resolve()
        prefix_map = ""
        if name in ("cc", "cc_for_build", "gcc"):
            # zig's own headers are reached through its absolute location; the sources, the
            # dependencies and generated files through the private build directory.
            prefix_map = f" -ffile-prefix-map={real.parent.parent.parent}=zig -ffile-prefix-map={work}={canonical}"
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec "{real}"{prefix_map} "$@"\n')
        wrapper.chmod(0o755)
    deps_dir = work / "deps"
    deps_dir.mkdir()
    for name, path in recipe.get("deps", {}).items():
        (deps_dir / name).symlink_to(Path(path).resolve())
    values = {
        "src": str(src),
        "prefix": str(prefix),
        "recorded_prefix": f"{canonical}/prefix",
        "jobs": str(recipe.get("jobs", os.cpu_count() or 2)),
        "host": recipe["host"],
        "cpu": recipe["host"].split("-")[0],
        "libc": recipe["libc"],
        "cc": str(bin_dir / "cc"),
        "ar": str(bin_dir / "ar"),
        "ranlib": str(bin_dir / "ranlib"),
    }
    for name in recipe.get("deps", {}):
        values[f"dep:{name}"] = str(deps_dir / name)
    for name in recipe.get("tools", {}):
        values[f"tool:{name}"] = str(bin_dir / name)
    tmp = work / "tmp"
    tmp.mkdir()
    # The programs go by name through PATH: configure scripts and OpenSSL's `compiler:` string
    # record $CC, which must not name the private build directory.
    build_cc = "cc_for_build" if recipe.get("cc_for_build") else "cc"
    env = {
        "PATH": os.environ.get("PATH", "/bin:/usr/bin"),
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "LC_ALL": "C",
        "TZ": "UTC",
        "SOURCE_DATE_EPOCH": "315532800",
        "CC": "cc",
        "BUILD_CC": build_cc,
        "CC_FOR_BUILD": build_cc,
        "AR": "ar",
        "RANLIB": "ranlib",
    }
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    for key, value in recipe.get("env", {}).items():
        env[key] = expand(value, values)
    if recipe.get("libm_forward"):
        # Every link gets glibc's libm, not zig's compiler_rt copies (libm_forward.c).
        forward = work / "libm_forward.o"
        shutil.copy(recipe["libm_forward"], forward)
        env["LDFLAGS"] = f"{env.get('LDFLAGS', '')} {forward}".strip()
    # No debug info in linked programs: zig builds its libc start files in its own cache and
    # their debug info names the zig installation and the directory of whichever build came first.
    env["LDFLAGS"] = f"{env.get('LDFLAGS', '')} -Wl,--strip-debug".strip()
    log = work / "build.log"
    for step in recipe["steps"]:
        run_step(["/bin/sh", "-ec", expand(step, values)], src, env, log)
    copy_outputs(prefix, src, out, recipe["outputs"], values)
    pyc_python = expand(recipe["pyc_python"], values) if recipe.get("pyc_python") else None
    map_build_paths(out, work, canonical, pyc_python, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, required=True, help="JSON recipe")
    parser.add_argument("--work", type=Path, help="build in this directory and keep it (default: a fresh private one, removed)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    try:
        recipe = json.loads(args.recipe.read_text())
        name = recipe["name"]
    except (OSError, ValueError, KeyError) as err:
        print(f"build_from_source: bad recipe {args.recipe}: {err!r}", file=sys.stderr)
        return 1
    # A directory nobody else can create, enter or predict: a shared fixed path would let
    # another account fail the build or alter it between steps.
    base = os.environ.get("TMPDIR") or "/tmp"
    try:
        work = args.work or Path(tempfile.mkdtemp(prefix=f"rps-build-{name}-", dir=base))
    except OSError as err:
        print(f"build_from_source: {name}: cannot make a private build directory in {base}: {err}", file=sys.stderr)
        return 1
    if args.work:
        shutil.rmtree(args.work, ignore_errors=True)
    try:
        build(recipe, work, args.out)
    except RecipeError as err:
        print(f"build_from_source: {name}: {err}", file=sys.stderr)
        return 1
    except (OSError, KeyError, ValueError) as err:
        print(f"build_from_source: {name}: {err!r}", file=sys.stderr)
        return 1
    finally:
        # Gigabytes for CPython. To inspect a failed build, run the tool with --work DIR.
        if not args.work:
            _remove_tree(work)
    return 0


def _remove_tree(path: Path) -> None:
    # Some builds leave read-only directories (Go-style module caches, `make install` modes).
    for root, dirs, _ in os.walk(path):
        for name in dirs:
            directory = os.path.join(root, name)
            if not os.path.islink(directory):  # deps/<name> link to other actions' outputs
                os.chmod(directory, 0o700)
    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
