"""Builds a third-party C library (or tool) from a source archive, as one Bazel action.

The recipe (JSON, written by toolchains/private/source_build.bzl) names the archive, the
commands to run in the unpacked tree, and what to copy out. Commands run with the hermetic
zig toolchain as CC/AR/RANLIB and the host's POSIX shell utilities on PATH. Placeholders in
commands and environment values:

  {src}      the unpacked source tree (the working directory of every command)
  {prefix}   the install prefix (its include/ and lib/ become the output)
  {jobs}     parallel jobs for make
  {host}     the autoconf host triple of the target (x86_64-linux-gnu, ...)
  {cpu}      its first part (x86_64, aarch64)
  {libc}     gnu or musl
  {target_triple}  python-build-standalone's name of the target (x86_64-unknown-linux-gnu)
  {cc} {ar} {ranlib}   the toolchain's programs (absolute)
  {dep:NAME} the output directory of dependency NAME (absolute)
For glibc targets, LDFLAGS also gets the toolchain's libm_forward.o.
  {tool:NAME} an executable dependency NAME (absolute), e.g. {tool:make}

Everything happens under the action's own directories; a failing command ends the action
with the last lines of its output and the command that failed.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

_PLACEHOLDER = re.compile(r"\{(src|prefix|jobs|host|cpu|libc|target_triple|cc|ar|ranlib|dep:[A-Za-z0-9_]+|tool:[A-Za-z0-9_]+)\}")


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


def build(recipe: dict[str, Any], work: Path, out: Path) -> None:
    work = work.resolve()
    shutil.rmtree(work, ignore_errors=True)
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
            # zig's own headers are reached through its absolute location.
            prefix_map = f" -ffile-prefix-map={real.parent.parent.parent}=zig"
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
        "jobs": str(recipe.get("jobs", os.cpu_count() or 2)),
        "host": recipe["host"],
        "cpu": recipe["host"].split("-")[0],
        "libc": recipe["libc"],
        "target_triple": f"{recipe['host'].split('-')[0]}-unknown-linux-{recipe['libc']}",
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
    env = {
        "PATH": os.environ.get("PATH", "/bin:/usr/bin"),
        "HOME": str(tmp),
        "TMPDIR": str(tmp),
        "LC_ALL": "C",
        "TZ": "UTC",
        "SOURCE_DATE_EPOCH": "315532800",
        "CC": values["cc"],
        "BUILD_CC": str(bin_dir / "cc_for_build") if recipe.get("cc_for_build") else values["cc"],
        "CC_FOR_BUILD": str(bin_dir / "cc_for_build") if recipe.get("cc_for_build") else values["cc"],
        "AR": values["ar"],
        "RANLIB": values["ranlib"],
    }
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    for key, value in recipe.get("env", {}).items():
        env[key] = expand(value, values)
    if recipe.get("libm_forward"):
        # Every link gets glibc's libm, not zig's compiler_rt copies (libm_forward.c).
        forward = work / "libm_forward.o"
        shutil.copy(recipe["libm_forward"], forward)
        env["LDFLAGS"] = f"{env.get('LDFLAGS', '')} {forward}".strip()
    log = work / "build.log"
    for step in recipe["steps"]:
        run_step(["/bin/sh", "-ec", expand(step, values)], src, env, log)
    copy_outputs(prefix, src, out, recipe["outputs"], values)
    # Gigabytes for CPython; a failed build's tree stays for inspection (its path is in the log).
    shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, required=True, help="JSON recipe")
    parser.add_argument("--work", type=Path, help="scratch directory (default: $TMPDIR/rps-build/<name>-<hash of --out>)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    try:
        recipe = json.loads(args.recipe.read_text())
        name = recipe["name"]
    except (OSError, ValueError, KeyError) as err:
        print(f"build_from_source: bad recipe {args.recipe}: {err!r}", file=sys.stderr)
        return 1
    # A fixed path keeps build paths, and so outputs, stable. It is per output (the same
    # library built for two configurations runs concurrently) and locked, because without
    # Bazel's private /tmp (processwrapper-sandbox, local execution) it is shared.
    base = Path(os.environ.get("TMPDIR", "/tmp"), "rps-build")
    work = args.work or base / f"{name}-{hashlib.sha256(str(args.out).encode()).hexdigest()[:10]}"
    try:
        work.parent.mkdir(parents=True, exist_ok=True)
        with open(work.with_name(work.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            build(recipe, work, args.out)
    except RecipeError as err:
        print(f"build_from_source: {name}: {err}", file=sys.stderr)
        return 1
    except (OSError, KeyError, ValueError) as err:
        print(f"build_from_source: {name}: {err!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
