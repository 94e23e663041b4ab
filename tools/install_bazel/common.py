"""What every step of the Bazel install shares: its error, its log line, running a tool."""

from __future__ import annotations

import subprocess
import sys


class InstallError(Exception):
    """An install step failed; the message says what, where and how to fix it."""


def log(message: str) -> None:
    print(f"tools/bazel: {message}", file=sys.stderr, flush=True)


def run(argv: list[str], what: str) -> str:
    """Runs `argv` and returns its stdout; a missing tool or a non-zero exit is an InstallError."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError as err:
        raise InstallError(f"{what}: {argv[0]} not found ({err})") from err
    if done.returncode != 0:
        raise InstallError(f"{what} failed (exit {done.returncode}):\n{done.stderr.strip()}")
    return done.stdout
