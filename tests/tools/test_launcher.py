"""Tests of tools/bazel, the launcher: which Bazel it runs, and how it reports what is missing."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest



@pytest.fixture
def launcher(tmp_path: Path) -> Path:
    # A copy in a scratch workspace, so the real repository is never touched.
    src = Path(__file__).resolve().parents[2] / "tools" / "bazel"
    assert src.is_file(), src
    (tmp_path / "ws" / "tools").mkdir(parents=True)
    dest = tmp_path / "ws" / "tools" / "bazel"
    shutil.copy(src, dest)
    return dest


def _fake_bazel(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "bazel"
    path.write_text(f'#!/bin/sh\nif [ "$1" = --version ]; then echo "bazel {version}"; exit 0; fi\necho "ran {version}: $*"\n')
    path.chmod(0o755)
    return path


def _base_tools(directory: Path, names: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        found = shutil.which(name)
        assert found, f"host tool {name} needed by the test"
        (directory / name).symlink_to(found)


SHELL_TOOLS = ["bash", "readlink", "dirname", "timeout", "cat", "cut", "sha256sum", "sed", "ls", "md5sum"]


def _run(launcher: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(launcher), *args], env=env, capture_output=True, text=True, timeout=60)


def test_bazel_real_wins(launcher: Path, tmp_path: Path) -> None:
    real = _fake_bazel(tmp_path / "real", "8.1.0")
    done = _run(launcher, {"PATH": os.environ["PATH"], "BAZEL_REAL": str(real)}, "build", "//x")
    assert done.stdout.strip() == "ran 8.1.0: build //x"


def test_bazel_7_on_path_is_used_and_bazel_4_skipped(launcher: Path, tmp_path: Path) -> None:
    old = _fake_bazel(tmp_path / "old", "4.2.3")
    new = _fake_bazel(tmp_path / "new", "7.4.1")
    path = f"{old.parent}:{new.parent}:{os.environ['PATH']}"
    done = _run(launcher, {"PATH": path}, "info")
    assert done.stdout.strip() == "ran 7.4.1: info"


def test_missing_prerequisites_are_named_with_the_install_command(launcher: Path, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    _base_tools(bindir, SHELL_TOOLS)
    done = _run(launcher, {"PATH": str(bindir), "HOME": str(tmp_path)}, "build")
    assert done.returncode == 1
    assert "missing prerequisite(s): python3 apt-get apt-cache dpkg-deb" in done.stderr
    assert "apt-get install" in done.stderr
