"""What the integration tests that run Bazel in other workspaces share."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def repo_root() -> Path:
    """This module's source tree (the runfile MODULE.bazel is a symlink into it)."""
    module = Path(os.environ["TEST_SRCDIR"], os.environ["TEST_WORKSPACE"], "MODULE.bazel")
    return module.resolve().parent


def bazel() -> str:
    """The Bazel that runs this test (tools/bazel sets RULES_PY_STANDALONE_BAZEL)."""
    path = os.environ.get("RULES_PY_STANDALONE_BAZEL")
    if not path:
        pytest.fail("RULES_PY_STANDALONE_BAZEL is unset: run the tests through tools/bazel, which sets it")
    return path


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
