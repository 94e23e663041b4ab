"""Unit tests of tools/install_bazel/output_bases.py: which output bases are pruned, and how."""

import fcntl
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from tools.install_bazel import output_bases as ob

NOW = time.time()
DAY = 86400.0
POLICY = ob.Policy()  # 14 days, 20 GiB, 60 minutes


def make_base(root: Path, workspace: Path, age_seconds: float, server_pid: int | None = None,
              payload_bytes: int = 0) -> Path:
    """A fake output base of `workspace`, last used `age_seconds` ago, like Bazel leaves one."""
    base = root / ob.base_name(str(workspace))
    (base / "server").mkdir(parents=True)
    (base / ob.WORKSPACE_FILE).write_text(str(workspace))
    (base / "command.log").write_text("INFO: Build completed successfully\n")
    execroot = base / "execroot" / "_main"
    execroot.mkdir(parents=True)
    (execroot / "out.txt").write_bytes(b"x" * payload_bytes)
    execroot.chmod(0o555)  # Bazel leaves read-only directories behind
    if server_pid is not None:
        (base / "server" / "server.pid.txt").write_text(str(server_pid))
    used = NOW - age_seconds
    for marker in ob.USE_MARKERS:
        if (base / marker).exists():
            os.utime(base / marker, (used, used))
    return base


def run_prune(root: Path, current: Path, policy: ob.Policy = POLICY) -> tuple[list[ob.Prune], str]:
    err = io.StringIO()
    done = ob.prune(root, str(current), policy, err, now=NOW)
    return done, err.getvalue()


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "output_user_root"
    path.mkdir()
    yield path
    subprocess.run(["chmod", "-R", "u+w", str(tmp_path)], check=False)


@pytest.fixture
def workspaces(tmp_path: Path) -> Path:
    path = tmp_path / "workspaces"
    for name in ("current", "a", "b", "c", "d"):
        (path / name).mkdir(parents=True)
    return path


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process that is no Bazel server and names no output base (a reused pid)."""
    process = subprocess.Popen(["sleep", "120"])
    yield process
    process.kill()
    process.wait()


def fake_server(base: Path) -> subprocess.Popen[bytes]:
    # Bazel's server names its base as --output_base=<base> on its command line.
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", f"--output_base={base}"])


def test_base_of_a_deleted_workspace_is_pruned_with_a_line_on_stderr(root: Path, workspaces: Path) -> None:
    gone = workspaces / "gone"
    base = make_base(root, gone, 2 * 3600, payload_bytes=300 << 10)
    done, err = run_prune(root, workspaces / "current")
    assert [p.base.path for p in done] == [base]
    assert not base.exists()
    assert not list((root / ob.TRASH_DIR).iterdir())
    (line,) = err.splitlines()
    assert line.startswith(f"tools/bazel: pruned output base {base} (its workspace {gone} no longer exists), freed ")
    assert "KiB" in line
    assert "RULES_PY_STANDALONE_PRUNE_DAYS=14 RULES_PY_STANDALONE_PRUNE_BUDGET=20G RULES_PY_STANDALONE_PRUNE_GRACE_MINUTES=60" in line
    assert "RULES_PY_STANDALONE_PRUNE=0 turns pruning off (docs/bazel-install.md)" in line


def test_old_base_is_pruned_and_recent_ones_are_kept(root: Path, workspaces: Path) -> None:
    old = make_base(root, workspaces / "a", 15 * DAY)
    week = make_base(root, workspaces / "b", 7 * DAY)
    # Within the grace period even a deleted workspace's base stays (a command may be starting).
    recent_gone = make_base(root, workspaces / "gone", 10 * 60)
    done, err = run_prune(root, workspaces / "current")
    assert [p.base.path for p in done] == [old]
    assert "unused for 15.0 days, limit 14.0 days" in err
    assert week.exists() and recent_gone.exists()


def test_each_run_notes_when_it_pruned(root: Path, workspaces: Path) -> None:
    run_prune(root, workspaces / "current")
    assert abs(int((root / ob.PRUNED_AT_FILE).read_text()) - time.time()) < 60


def test_current_workspace_base_is_never_pruned(root: Path, workspaces: Path) -> None:
    current = make_base(root, workspaces / "current", 30 * DAY)
    done, _ = run_prune(root, workspaces / "current")
    assert done == [] and current.exists()
    assert (current / ob.STAMP_FILE).stat().st_mtime > NOW - 60  # marked used before Bazel starts


def test_live_server_keeps_its_base_even_when_old_and_workspace_gone(root: Path, workspaces: Path) -> None:
    base = make_base(root, workspaces / "gone", 30 * DAY)
    server = fake_server(base)
    try:
        (base / "server" / "server.pid.txt").write_text(str(server.pid))
        os.utime(base / "server" / "server.pid.txt", (NOW - 30 * DAY,) * 2)
        done, err = run_prune(root, workspaces / "current")
        assert done == [] and err == "" and base.exists()
    finally:
        server.kill()
        server.wait()
    done, _ = run_prune(root, workspaces / "current")  # the pid file stays but names no server now
    assert [p.base.path for p in done] == [base]


def test_any_process_naming_the_base_keeps_it(root: Path, workspaces: Path) -> None:
    base = make_base(root, workspaces / "gone", 30 * DAY)
    action = fake_server(base / "sandbox" / "linux-sandbox" / "1")  # e.g. a running action
    try:
        done, _ = run_prune(root, workspaces / "current")
        assert done == [] and base.exists()
    finally:
        action.kill()
        action.wait()


def test_pid_file_of_an_unseen_server_protects_for_bazels_max_idle(
        root: Path, workspaces: Path, sleeper: subprocess.Popen[bytes]) -> None:
    # The pid names a process that is no server of this base: the server crashed, or runs in
    # another PID namespace (a container sharing the cache) and exits after --max_idle_secs.
    two_hours = make_base(root, workspaces / "gone2", 2 * 3600, server_pid=sleeper.pid)
    four_hours = make_base(root, workspaces / "gone4", 4 * 3600, server_pid=sleeper.pid)
    done, _ = run_prune(root, workspaces / "current")
    assert [p.base.path for p in done] == [four_hours]
    assert two_hours.exists()


def test_budget_prunes_least_recently_used_idle_bases_only(root: Path, workspaces: Path) -> None:
    kib = 1 << 10
    oldest = make_base(root, workspaces / "a", 5 * DAY, payload_bytes=200 * kib)
    older = make_base(root, workspaces / "b", 4 * DAY, payload_bytes=200 * kib)
    newest = make_base(root, workspaces / "c", 3 * DAY, payload_bytes=200 * kib)
    in_grace = make_base(root, workspaces / "d", 60, payload_bytes=2000 * kib)  # not counted
    policy = ob.Policy(budget_bytes=500 * kib)
    done, err = run_prune(root, workspaces / "current", policy)
    assert [p.base.path for p in done] == [oldest]
    assert "over the budget of 500.0 KiB; least recently used" in err
    assert older.exists() and newest.exists() and in_grace.exists()
    done, _ = run_prune(root, workspaces / "current", ob.Policy(budget_bytes=None))
    assert done == []


def test_sizes_are_measured_once_per_last_use(root: Path, workspaces: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_base(root, workspaces / "a", 2 * DAY)
    measured: list[Path] = []
    real = ob.disk_usage
    monkeypatch.setattr(ob, "disk_usage", lambda path: measured.append(path) or real(path))
    run_prune(root, workspaces / "current")
    run_prune(root, workspaces / "current")
    assert len(measured) == 1
    assert (root / ob.SIZES_FILE).is_file()


def test_nothing_is_measured_or_scanned_when_all_bases_are_recent(
        root: Path, workspaces: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_base(root, workspaces / "a", 60)
    monkeypatch.setattr(ob, "disk_usage", lambda path: pytest.fail("measured"))
    monkeypatch.setattr(ob, "process_cmdlines", lambda: pytest.fail("scanned /proc"))
    assert run_prune(root, workspaces / "current") == ([], "")


def test_held_lock_means_a_second_pruner_skips(root: Path, workspaces: Path) -> None:
    base = make_base(root, workspaces / "gone", 2 * DAY)
    with open(root / ob.LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert run_prune(root, workspaces / "current") == ([], "")
        assert base.exists()
    done, _ = run_prune(root, workspaces / "current")
    assert [p.base.path for p in done] == [base]


def test_base_taken_into_use_while_pruning_is_put_back(root: Path, workspaces: Path) -> None:
    base = make_base(root, workspaces / "gone", 2 * DAY)
    seen = ob.read_output_base(base)
    assert seen
    (base / ob.STAMP_FILE).touch()  # another launcher stamped it after the plan was made
    err = io.StringIO()
    deleted = ob.delete_base(ob.Prune(seen, "test"), root, 0, POLICY, dict, err)
    assert not deleted and base.is_dir() and (base / ob.WORKSPACE_FILE).exists()
    assert err.getvalue() == ""


def test_failed_deletion_says_so_and_the_next_run_finishes_it(
        root: Path, workspaces: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = make_base(root, workspaces / "gone", 2 * DAY)
    real = ob.remove_tree
    monkeypatch.setattr(ob, "remove_tree", lambda path: "Permission denied")
    done, err = run_prune(root, workspaces / "current")
    assert done == [] and not base.exists()  # Bazel never sees a half-deleted base
    (left,) = (root / ob.TRASH_DIR).iterdir()
    assert f"could not finish deleting output base {base}" in err and "the next run retries" in err
    monkeypatch.setattr(ob, "remove_tree", real)
    assert run_prune(root, workspaces / "current") == ([], "")
    assert not left.exists()


def test_directories_without_a_workspace_file_are_not_output_bases(root: Path, workspaces: Path) -> None:
    (root / "install").mkdir()
    (root / "cache" / "repos").mkdir(parents=True)
    os.utime(root / "install", (0, 0))
    assert run_prune(root, workspaces / "current") == ([], "")
    assert (root / "install").is_dir() and (root / "cache").is_dir()


def test_missing_output_root_is_fine(tmp_path: Path) -> None:
    assert ob.prune(tmp_path / "none", str(tmp_path), POLICY, io.StringIO()) == []
    assert not (tmp_path / "none").exists()


def test_policy_from_env_and_sizes() -> None:
    policy = ob.Policy.from_env({ob.ENV_DAYS: "7", ob.ENV_BUDGET: "1.5G", ob.ENV_GRACE: "0"})
    assert policy == ob.Policy(max_age_seconds=7 * DAY, budget_bytes=3 << 29, grace_seconds=0)
    assert ob.Policy.from_env({}) == ob.Policy()
    assert ob.parse_size("none") is None
    assert ob.parse_size("500MiB") == 500 << 20
    assert ob.parse_size("4096") == 4096
    assert [ob.format_budget(s) for s in (20 << 30, 3 << 29, 1000, None)] == ["20G", "1536M", "1000", "none"]
    with pytest.raises(ob.PolicyError, match="RULES_PY_STANDALONE_PRUNE_BUDGET='lots'"):
        ob.Policy.from_env({ob.ENV_BUDGET: "lots"})
    with pytest.raises(ob.PolicyError, match="RULES_PY_STANDALONE_PRUNE_DAYS='-1'"):
        ob.Policy.from_env({ob.ENV_DAYS: "-1"})


def test_main_with_pruning_off_only_stamps(root: Path, workspaces: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = make_base(root, workspaces / "gone", 30 * DAY)
    current = make_base(root, workspaces / "current", 30 * DAY)
    monkeypatch.setenv(ob.ENV_OFF, "0")
    assert ob.main(["--output-root", str(root), "--workspace", str(workspaces / "current")]) == 0
    assert gone.exists() and (current / ob.STAMP_FILE).exists()
    monkeypatch.delenv(ob.ENV_OFF)
    assert ob.main(["--output-root", str(root), "--workspace", str(workspaces / "current")]) == 0
    assert not gone.exists() and current.exists()
