"""Runs a remote action the way a container would: in its own mount and PID namespaces, whose
root holds only the system's directories (read-only), a fresh /dev, /proc and /tmp, and the
action's own directory at its usual path. The checkout, Bazel's output bases and caches, the
worker's other actions and every home directory are absent, so an action that reaches for them
by absolute path fails here as it would on a cluster.

Standard library only (bots_worker.py runs in BuildGrid's venv, the tests on the test
interpreter). Needs `unshare` (util-linux) and either root or unprivileged user namespaces.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

# What an image such as debian:12-slim has at its root, bound read-only; merged-/usr symlinks
# (/bin -> usr/bin) are recreated as symlinks.
SYSTEM_DIRECTORIES = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr", "/etc")

# $1: the action's directory (bound at the same path), $2: the working directory, $3: "-" when
# the action's environment has no PWD, else "=" and its value, then argv.
# The script keeps the action's environment exactly: PATH is set only for its own commands, then
# restored (or unset again); `env --chdir` enters the working directory without a shell's `cd`,
# which would export PWD and OLDPWD.
_SETUP = r"""
set -eu
had_path=${PATH+x} saved_path=${PATH-}
PATH=/usr/sbin:/usr/bin:/sbin:/bin
work=$1 cwd=$2 pwd=$3
shift 3
new=$work/.sandbox_root
mkdir -p "$new"
mount --make-rprivate /
mount -t tmpfs -o mode=0755 rps-sandbox "$new"
for dir in %(dirs)s; do
    if [ -L "$dir" ]; then
        ln -s "$(readlink "$dir")" "$new$dir"
    elif [ -d "$dir" ]; then
        mkdir -p "$new$dir"
        mount --rbind "$dir" "$new$dir"
        mount -o remount,bind,ro "$new$dir"
    fi
done
mkdir -p "$new/dev" "$new/proc" "$new/tmp" "$new$work"
chmod 1777 "$new/tmp"
mount --rbind /dev "$new/dev"
mount -t proc proc "$new/proc"
mount --bind "$work" "$new$work"
for file in %(hidden)s; do
    mount --bind /dev/null "$new$file"
done
if [ -n "$had_path" ]; then PATH=$saved_path; else unset PATH; fi
# The shell exports PWD of its own; the action gets the one it asked for, or none.
if [ "$pwd" = - ]; then
    exec /usr/sbin/chroot "$new" /usr/bin/env --chdir="$cwd" -u PWD -- "$@"
fi
exec /usr/sbin/chroot "$new" /usr/bin/env --chdir="$cwd" -- "PWD=${pwd#=}" "$@"
"""


class SandboxError(Exception):
    """This machine cannot run sandboxed actions; the message says why."""


def command(argv: list[str], env: dict[str, str], work: Path, cwd: Path, hidden: tuple[str, ...] = ()) -> list[str]:
    """`argv` wrapped to run sandboxed with `work` (which holds `cwd`) as its only writable tree;
    run it with exactly `env`, the action's environment. Each file of `hidden` (a host program
    that actions must not use, e.g. /usr/bin/perl) is there as an empty, unusable file."""
    files = sorted({os.path.realpath(path) for path in hidden if os.path.isfile(path)})
    setup = _SETUP % {"dirs": " ".join(SYSTEM_DIRECTORIES), "hidden": " ".join(shlex.quote(f) for f in files)}
    unshare = shutil.which("unshare", path="/usr/bin:/bin")
    if unshare is None:
        raise SandboxError("unshare (util-linux) is not installed")
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return [unshare, *user, "--mount", "--pid", "--fork", "--kill-child", "/bin/sh", "-c", setup,
            "sandbox", str(work), str(cwd), "=" + env["PWD"] if "PWD" in env else "-", *argv]


def check(scratch: Path) -> None:
    """Raises SandboxError unless a sandboxed `true` runs here."""
    work = scratch / "sandbox-check"
    work.mkdir()
    try:
        done = subprocess.run(command(["/bin/true"], {}, work, work), env={}, capture_output=True, text=True,
                              timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if done.returncode != 0:
        raise SandboxError(f"a sandboxed action cannot run here (exit {done.returncode}): {done.stderr.strip()[-500:]}")
