"""Tests of tools/bazel, the launcher: which Bazel it runs, and how it reports what is missing."""

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests import rlocation

# What tools/bazel hashes into the install key, in its order.
INSTALL_KEY_FILES = ("pins.txt", "install_bazel.py", "common.py", "debian_packages.py", "relocation.py",
                     "bazel_config.py", "truststore.py")


@pytest.fixture
def launcher(tmp_path: Path) -> Path:
    # A copy in a scratch workspace, so the real repository is never touched.
    src = rlocation.path("LAUNCHER")
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
    installer = rlocation.path("INSTALL_BAZEL_PINS").parent
    shutil.copytree(installer, launcher.parent / "install_bazel")
    data = b"".join((installer / n).read_bytes() for n in INSTALL_KEY_FILES)
    prefix = cache / "bazel" / f"bazel-{hashlib.sha256(data).hexdigest()[:16]}"
    _fake_bazel(prefix / "bin", "7.7.1")
    (prefix / ".complete").write_text("bazel 7.7.1\n")
    (prefix / "cacerts.jks").write_text("newer than the bundle")
    return prefix


def _fake_base(root: Path, workspace: Path, age_seconds: float) -> Path:
    base = root / hashlib.md5(str(workspace).encode()).hexdigest()
    (base / "execroot").mkdir(parents=True)
    (base / "DO_NOT_BUILD_HERE").write_text(str(workspace))
    (base / "command.log").write_text("")
    (base / "execroot" / "read-only").write_text("")
    (base / "execroot").chmod(0o500)
    used = time.time() - age_seconds
    for name in ("DO_NOT_BUILD_HERE", "command.log"):
        os.utime(base / name, (used, used))
    return base


@pytest.fixture
def private_env(launcher: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of a machine where tools/bazel uses its private install (a fake one)."""
    cache = tmp_path / "cache"
    _fake_install(launcher, cache)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    os.utime(bundle, (0, 0))
    bindir = tmp_path / "bin"
    _base_tools(bindir, SHELL_TOOLS + ["python3", "apt-get", "apt-cache", "dpkg-deb", "gpgv", "chmod", "rm", "du"])
    yield {"PATH": str(bindir), "HOME": str(tmp_path), "RULES_PY_STANDALONE_CACHE": str(cache),
           "RULES_PY_STANDALONE_OUTPUT_ROOT": str(tmp_path / "root"), "SSL_CERT_FILE": str(bundle)}
    subprocess.run(["chmod", "-R", "u+w", str(tmp_path)], check=False)


def test_private_install_prunes_idle_output_bases_and_stops_no_server(
        launcher: Path, tmp_path: Path, private_env: dict[str, str]) -> None:
    root = tmp_path / "root"
    gone = _fake_base(root, tmp_path / "deleted-checkout", 2 * 3600)
    other = tmp_path / "other-checkout"
    other.mkdir()
    recent = _fake_base(root, other, 5 * 60)
    # An old base whose server is alive: its command line names the base, as Bazel's does.
    busy = _fake_base(root, tmp_path / "deleted-too", 30 * 86400)
    server = subprocess.Popen(["bash", "-c", "sleep 300", f"--output_base={busy}"])
    (busy / "server").mkdir()
    (busy / "server" / "server.pid.txt").write_text(str(server.pid))
    (root / "not-an-output-base").mkdir()
    try:
        done = _run(launcher, private_env, "build", "//x")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"ran 7.7.1: --output_user_root={root} build //x"
        assert not gone.exists()
        assert recent.exists() and busy.exists() and (root / "not-an-output-base").exists()
        (line,) = [x for x in done.stderr.splitlines() if x.startswith("tools/bazel: pruned")]
        assert f"pruned output base {gone} (its workspace" in line and "freed" in line
        assert server.poll() is None, "a server must never be stopped"
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize("startup", [["--output_user_root=/elsewhere"], ["--output_base", "/elsewhere/base"],
                                     ["--batch", "--output_base=/elsewhere/base"]])
def test_explicit_output_root_is_left_alone(launcher: Path, tmp_path: Path, private_env: dict[str, str],
                                            startup: list[str]) -> None:
    gone = _fake_base(tmp_path / "root", tmp_path / "deleted-checkout", 30 * 86400)
    done = _run(launcher, private_env, *startup, "build", "//x")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ran 7.7.1: {' '.join(startup)} build //x"
    assert gone.exists() and done.stderr == ""


def test_pruning_can_be_switched_off(launcher: Path, tmp_path: Path, private_env: dict[str, str]) -> None:
    gone = _fake_base(tmp_path / "root", tmp_path / "deleted-checkout", 30 * 86400)
    done = _run(launcher, {**private_env, "RULES_PY_STANDALONE_PRUNE": "0"}, "build", "//x")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ran 7.7.1: --output_user_root=")
    assert gone.exists()


def test_pruner_runs_at_most_once_per_interval(launcher: Path, tmp_path: Path, private_env: dict[str, str]) -> None:
    root = tmp_path / "root"
    first = _fake_base(root, tmp_path / "deleted-checkout", 2 * 3600)
    assert _run(launcher, private_env, "info").returncode == 0
    assert not first.exists()
    assert int((root / "rules_py_standalone_pruned_at").read_text()) >= time.time() - 60
    # Within the interval (300 s by default) the launcher does not start the pruner at all.
    second = _fake_base(root, tmp_path / "deleted-checkout-2", 2 * 3600)
    assert _run(launcher, private_env, "info").returncode == 0
    assert second.exists()
    done = _run(launcher, {**private_env, "RULES_PY_STANDALONE_PRUNE_INTERVAL_SECONDS": "0"}, "info")
    assert done.returncode == 0 and not second.exists()


def test_a_bad_policy_value_is_reported_and_the_command_still_runs(
        launcher: Path, tmp_path: Path, private_env: dict[str, str]) -> None:
    done = _run(launcher, {**private_env, "RULES_PY_STANDALONE_PRUNE_DAYS": "soon"}, "info")
    assert done.returncode == 0
    assert "RULES_PY_STANDALONE_PRUNE_DAYS='soon'" in done.stderr
    assert done.stdout.strip().endswith(" info")
