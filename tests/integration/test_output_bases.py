"""tools/bazel's output-base pruning with real Bazel servers (docs/bazel-install.md).

A build runs in one small workspace while tools/bazel runs in four more. Each workspace has
tools/bazel as a symlink to this checkout's launcher, so it is the launcher's own policy that
runs, with the private Bazel install of the outer build and an output root in the test's
temporary directory (never the user's). The grace period and the interval between pruning
runs are 0: every invocation prunes, and only liveness protects the running build. Every server started here is shut down at the end.
"""

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

# The slow build waits for the test's signal, so it is surely running while the others run.
BUILD = """\
genrule(
    name = "slow",
    outs = ["slow.txt"],
    cmd = "for i in $$(seq 1200); do [ -e {flag} ] && break; sleep 0.1; done; echo done > $@",
    tags = ["no-sandbox"],
)

genrule(
    name = "quick",
    outs = ["quick.txt"],
    cmd = "echo quick > $@",
)
"""


def _launcher() -> Path:
    return rlocation.path("LAUNCHER").resolve()


def _install_key(installer: Path) -> str:
    # As tools/bazel computes it: a hash of the pins and the installer.
    data = b"".join((installer / n).read_bytes() for n in INSTALL_KEY_FILES)
    return hashlib.sha256(data).hexdigest()[:16]


def _private_cache(tmp_path: Path) -> Path:
    """A cache directory where tools/bazel finds a complete private install: the one that runs
    this test (or, for a Bazel from PATH, a stand-in prefix around it)."""
    bazel = os.environ.get("RULES_PY_STANDALONE_BAZEL")
    if not bazel:
        pytest.fail("RULES_PY_STANDALONE_BAZEL is unset: run the tests through tools/bazel, which sets it")
    cache = tmp_path / "cache"
    prefix = cache / "bazel" / f"bazel-{_install_key(_launcher().parent / 'install_bazel')}"
    prefix.parent.mkdir(parents=True)
    real_prefix = Path(bazel).resolve().parent.parent
    if (real_prefix / ".complete").is_file():
        prefix.symlink_to(real_prefix)
    else:
        (prefix / "bin").mkdir(parents=True)
        (prefix / "bin" / "bazel").symlink_to(bazel)
        (prefix / ".complete").write_text("stand-in\n")
    return cache


class Workspace:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def command(self, *args: str) -> list[str]:
        return [str(self.root / "tools" / "bazel"), *args]

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*args), cwd=self.root, env={**self.env, **env}, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.command(*args), cwd=self.root, env={**self.env, **env},
                              capture_output=True, text=True, timeout=170)
        assert done.returncode == 0, f"bazel {' '.join(args)} in {self.root.name} failed:\n{done.stderr[-4000:]}"
        return done

    @property
    def base_name(self) -> str:
        return hashlib.md5(str(self.root).encode()).hexdigest()


def _finish(process: subprocess.Popen[str], what: str) -> str:
    out, err = process.communicate(timeout=170)
    assert process.returncode == 0, f"{what} failed:\n{err[-4000:]}"
    return err


def _pruned(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("tools/bazel: pruned output base")]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[dict[str, Workspace], Path, Path]]:
    root = tmp_path / "output_root"
    flag = tmp_path / "slow-may-finish"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "RULES_PY_STANDALONE_CACHE": str(_private_cache(tmp_path)),
        "RULES_PY_STANDALONE_OUTPUT_ROOT": str(root),
        "RULES_PY_STANDALONE_PRUNE_GRACE_MINUTES": "0",
        "RULES_PY_STANDALONE_PRUNE_INTERVAL_SECONDS": "0",  # every invocation prunes
        "SSL_CERT_FILE": str(tmp_path / "no-bundle"),  # leaves the install's trust store alone
    }
    workspaces = {}
    physical = tmp_path.resolve()
    for name in ("slow", "a", "gone", "old", "b"):
        ws = physical / "ws" / name
        (ws / "tools").mkdir(parents=True)
        (ws / "MODULE.bazel").write_text(f'module(name = "{name}")\n')
        (ws / "BUILD.bazel").write_text(BUILD.format(flag=flag))
        # A server the test fails to shut down exits by itself.
        (ws / ".bazelrc").write_text("startup --max_idle_secs=120\n")
        (ws / "tools" / "bazel").symlink_to(_launcher())
        workspaces[name] = Workspace(ws, env)
    try:
        yield workspaces, root, flag
    finally:
        flag.touch()
        bazel = Path(env["RULES_PY_STANDALONE_CACHE"]).glob("bazel/bazel-*/bin/bazel")
        real = str(next(bazel))
        for ws in workspaces.values():
            if ws.root.is_dir():
                subprocess.run([real, f"--output_user_root={root}", "shutdown"], cwd=ws.root, env=env,
                               capture_output=True, timeout=120)
        subprocess.run(["chmod", "-R", "u+w", str(tmp_path)], check=False)
        shutil.rmtree(tmp_path / "ws", ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_genrule(base: Path, slow: subprocess.Popen[str]) -> None:
    deadline = time.time() + 120
    while time.time() < deadline:
        assert slow.poll() is None, f"the slow build ended early:\n{slow.stderr.read() if slow.stderr else ''}"
        log = base / "command.log"
        if log.is_file() and "Executing genrule //:slow" in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    pytest.fail("the slow genrule never started")


def _backdate(base: Path, days: float) -> None:
    """Makes every mark of use of `base` `days` old (as if its last command ended then)."""
    then = time.time() - days * 86400
    for marker in ("command.log", "lock", "DO_NOT_BUILD_HERE", "rules_py_standalone_last_used",
                   "server/server.pid.txt"):
        if (base / marker).exists():
            os.utime(base / marker, (then, then))


def _base_names(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if (p / "DO_NOT_BUILD_HERE").exists()}


def test_pruning_never_touches_a_running_build(setup: tuple[dict[str, Workspace], Path, Path]) -> None:
    ws, root, flag = setup
    started = time.time()
    slow = ws["slow"].start("build", "//:slow")
    _wait_for_genrule(root / ws["slow"].base_name, slow)

    # Two launchers in different workspaces at the same moment.
    concurrent = [ws["a"].start("build", "//:quick"), ws["gone"].start("build", "//:quick")]
    for name, process in zip(("a", "gone"), concurrent):
        assert _pruned(_finish(process, f"build in {name}")) == []
    ws["old"].run("build", "//:quick")
    for name in ("gone", "old", "a"):
        ws[name].run("shutdown")
    # A deleted checkout, and one whose last use was 20 days ago.
    shutil.rmtree(ws["gone"].root)
    _backdate(root / ws["old"].base_name, 20)
    assert _base_names(root) == {ws[n].base_name for n in ("slow", "a", "gone", "old")}

    # The next invocation prunes those two: not the running build's, not the recent idle one.
    pruned = _pruned(ws["b"].run("build", "//:quick").stderr)
    assert len(pruned) == 2, pruned
    assert any(f"{ws['gone'].base_name} (its workspace {ws['gone'].root} no longer exists), freed " in x for x in pruned)
    assert any(f"{ws['old'].base_name} (unused for 20.0 days, limit 14.0 days), freed " in x for x in pruned)
    assert _base_names(root) == {ws[n].base_name for n in ("slow", "a", "b")}

    # Over budget: of the idle bases (only a's; slow's and b's have live servers) the least
    # recently used go.
    pruned = _pruned(ws["b"].run("info", "release", RULES_PY_STANDALONE_PRUNE_BUDGET="1K").stderr)
    assert len(pruned) == 1 and ws["a"].base_name in pruned[0] and "over the budget of 1.0 KiB" in pruned[0]
    assert _base_names(root) == {ws[n].base_name for n in ("slow", "b")}

    # Only its live server keeps the slow build's base now: its use looks 20 days old, and
    # every idle base older than 0 days is to go.
    _backdate(root / ws["slow"].base_name, 20)
    done = ws["b"].run("info", "release", RULES_PY_STANDALONE_PRUNE_DAYS="0")
    assert _pruned(done.stderr) == []
    assert _base_names(root) == {ws[n].base_name for n in ("slow", "b")}

    # The slow build ran through all of it and finishes.
    assert slow.poll() is None, "the slow build must still be running"
    flag.touch()
    _finish(slow, "the slow build")
    assert (ws["slow"].root / "bazel-bin" / "slow.txt").read_text() == "done\n"
    assert not any((root / "rules_py_standalone_trash").iterdir())
    assert time.time() - started < 170
