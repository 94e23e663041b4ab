"""Locks a Python program's requirements for standalone binaries (docs/pypi.md, "Locking").

    bazel run @rules_py_standalone//tools/lock -- requirements.in [-o requirements.txt] [--upgrade]

Resolves with the pinned uv (toolchains/uv_versions.bzl), once for every platform and CPython
version the rules build for (`--universal`, from the oldest CPython up), and writes a hashed
requirements file with `# via` comments: the lock the `pypi` extension reads. Its header records
the input's sha256, so that a lock older than its input is reported as stale at build time. The
index is the one pip is configured with (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, pip.conf), else
PyPI. uv shows its progress on stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

from tools.pypi import lock_reader

HEADER = ("# Locked by `bazel run @rules_py_standalone//tools/lock -- {name}`: do not edit.\n"
          "# input: {name} sha256={digest}\n")


class LockToolError(Exception):
    pass


def digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def uv_command(uv: str, requirements_in: str, output: str, python_version: str, indexes: list[str],
               upgrade: bool) -> list[str]:
    command = [uv, "pip", "compile", requirements_in, "--universal", "--generate-hashes", "--no-header",
               "--no-config", "--python-version", python_version, "-o", output, "--index-url", indexes[0]]
    for extra in indexes[1:]:
        command += ["--extra-index-url", extra]
    if upgrade:
        command.append("--upgrade")
    return command


def lock(uv: str, requirements_in: str, output: str, python_version: str, upgrade: bool,
         env: dict[str, str]) -> None:
    if not os.path.isfile(requirements_in):
        raise LockToolError(f"{requirements_in}: no such file (the requirements to lock, one per line)")
    indexes = lock_reader.configured_indexes(env, [], None)
    directory = os.path.dirname(os.path.abspath(output))
    with tempfile.TemporaryDirectory(dir=directory, prefix=".lock-") as scratch:
        resolved = os.path.join(scratch, "requirements.txt")
        if os.path.exists(output):  # uv keeps the pins of an existing lock unless --upgrade
            with open(output, "rb") as src, open(resolved, "wb") as dst:
                dst.write(src.read())
        # From the input's directory with its bare name: uv's "# via -r <file>" comments name it
        # so, not by a path of this machine.
        done = subprocess.run(uv_command(uv, os.path.basename(requirements_in), resolved, python_version, indexes, upgrade),
                              env=env, cwd=os.path.dirname(os.path.abspath(requirements_in)))
        if done.returncode != 0:
            raise LockToolError(f"uv could not lock {requirements_in} (its message is above); nothing was written")
        with open(resolved, encoding="utf-8") as f:
            body = f.read()
        name = os.path.basename(requirements_in)
        with open(resolved, "w", encoding="utf-8") as f:
            f.write(HEADER.format(name=name, digest=digest(requirements_in)) + body)
        os.replace(resolved, output)  # all or nothing: a failed run leaves the old lock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("requirements_in")
    parser.add_argument("-o", "--output", help="the lock to write (default: the input with .txt for .in)")
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions, not the existing lock's")
    parser.add_argument("--python-version", required=True, help="the oldest CPython to lock for (set by the BUILD file)")
    parser.add_argument("--uv", required=True, help="the uv executable (set by the BUILD file)")
    args = parser.parse_args(argv)
    base = os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd())  # `bazel run` runs in runfiles
    requirements_in = os.path.join(base, args.requirements_in)
    output = os.path.join(base, args.output) if args.output else (
        requirements_in[:-3] + ".txt" if requirements_in.endswith(".in") else requirements_in + ".lock.txt")
    try:
        lock(os.path.abspath(args.uv), requirements_in, output, args.python_version, args.upgrade, dict(os.environ))
    except LockToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"locked {args.requirements_in} -> {os.path.relpath(output, base)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
