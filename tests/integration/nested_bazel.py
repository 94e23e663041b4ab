"""What the integration tests that run Bazel in other workspaces share."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import rlocation


# The environment a nested Bazel gets from the test's: no more, so the user's settings and the
# outer test's (RUNFILES_DIR, TEST_*, PYTHON*: the consumer's Python tools would look for files in
# our runfiles) stay out.
PASSED_ENV = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "SSL_CERT_FILE", "SSL_CERT_DIR",
              "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def clean_env() -> dict[str, str]:
    """The variables of PASSED_ENV that this process has."""
    return {k: v for k, v in os.environ.items() if k in PASSED_ENV}


def repo_root() -> Path:
    """This module's source tree (the runfile MODULE.bazel, MODULE_BAZEL in the target's
    environment, is a symlink into it)."""
    return rlocation.path("MODULE_BAZEL").resolve().parent


def bazel() -> str:
    """The Bazel that runs this test (tools/bazel sets RULES_PY_STANDALONE_BAZEL)."""
    path = os.environ.get("RULES_PY_STANDALONE_BAZEL")
    if not path:
        pytest.fail("RULES_PY_STANDALONE_BAZEL is unset: run the tests through tools/bazel, which sets it")
    return path


def shared_cache() -> Path:
    """The directory of the caches tools/bazel and .bazelrc use (a test's HOME is not the user's)."""
    return Path(os.environ.get("RULES_PY_STANDALONE_CACHE") or Path.home() / ".cache/rules_py_standalone")


def copy_checkout(source: Path, dest: Path) -> None:
    """The files git knows of (tracked, and new ones not ignored), as a fresh clone would have
    them plus uncommitted changes; no bazel-* links, no .git."""
    listed = subprocess.run(["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.fail(f"cannot list the files of the checkout {source} with git: {listed.stderr.decode()[-400:]}")
    dest.mkdir(parents=True)
    for rel in sorted(set(listed.stdout.decode().split("\0")) - {""}):
        src = source / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted but not yet committed
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target, follow_symlinks=False)


def spawns(log: Path) -> Iterator[dict]:
    """The entries of Bazel's JSON execution log (`--execution_log_json_file`): one per spawn,
    a stream of JSON objects rather than one document."""
    decoder = json.JSONDecoder()
    text = log.read_text()
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return
        entry, pos = decoder.raw_decode(text, pos)
        yield entry
