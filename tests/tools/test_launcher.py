"""Tests of tools/bazel, the launcher: which Bazel it runs, and how it reports what is missing."""

import hashlib
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


def _fake_install(launcher: Path, cache: Path) -> Path:
    """A complete private install whose bin/bazel only echoes, placed where the launcher looks."""
    installer = Path(__file__).resolve().parents[2] / "tools" / "install_bazel"
    shutil.copytree(installer, launcher.parent / "install_bazel")
    data = b"".join((installer / n).read_bytes() for n in ("pins.txt", "install_bazel.py", "truststore.py"))
    prefix = cache / "bazel" / f"bazel-{hashlib.sha256(data).hexdigest()[:16]}"
    _fake_bazel(prefix / "bin", "7.7.1")
    (prefix / ".complete").write_text("bazel 7.7.1\n")
    (prefix / "cacerts.jks").write_text("newer than the bundle")
    return prefix


def test_private_install_prunes_old_output_bases(launcher: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _fake_install(launcher, cache)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    os.utime(bundle, (0, 0))
    root = cache / "output_user_root"
    server = subprocess.Popen(["sleep", "300"])
    bases = []
    for age in range(5):  # base0 is the newest
        base = root / f"base{age}"
        (base / "server").mkdir(parents=True)
        (base / "DO_NOT_BUILD_HERE").write_text("/some/workspace")
        (base / "execroot").mkdir()
        (base / "execroot" / "read-only").write_text("")
        (base / "execroot").chmod(0o500)
        os.utime(base, (1000 - age, 1000 - age))
        bases.append(base)
    (bases[4] / "server" / "server.pid.txt").write_text(str(server.pid))
    (root / "not-an-output-base").mkdir()
    bindir = tmp_path / "bin"
    _base_tools(bindir, SHELL_TOOLS + ["python3", "apt-get", "apt-cache", "dpkg-deb", "gpgv",
                                       "touch", "sleep", "seq", "chmod", "rm"])
    env = {"PATH": str(bindir), "HOME": str(tmp_path), "RULES_PY_STANDALONE_CACHE": str(cache),
           "SSL_CERT_FILE": str(bundle)}
    try:
        done = _run(launcher, env, "build", "//x")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("ran 7.7.1: --output_user_root=")
        # The current workspace has no output base yet, so the two newest others stay.
        assert sorted(p.name for p in root.iterdir()) == ["base0", "base1", "not-an-output-base"]
        assert server.wait(timeout=10) is not None, "the pruned output base's server must be stopped"
    finally:
        server.kill()
