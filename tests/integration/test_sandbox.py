"""The remote-execution worker's sandbox (remote_execution/sandbox.py): an action sees the
system's directories read-only, its own directory, a private /tmp and nothing else of the host,
with exactly the environment it asked for."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.remote_execution import sandbox


@pytest.fixture
def action_dir(tmp_path: Path) -> Path:
    try:
        sandbox.check(tmp_path)
    except sandbox.SandboxError as err:
        pytest.skip(f"no sandbox on this machine: {err}")
    work = tmp_path / "action"
    (work / "root/out").mkdir(parents=True)
    return work


def _run(script: str, env: dict[str, str], work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(sandbox.command(["/bin/sh", "-c", script], env, work, work / "root"), env=env,
                          capture_output=True, text=True, timeout=60)


def test_action_writes_its_outputs_and_sees_its_inputs(action_dir: Path) -> None:
    (action_dir / "root/input.txt").write_text("in\n")
    done = _run("cat input.txt > out/copy.txt && pwd", {"PATH": "/usr/bin:/bin"}, action_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{action_dir / 'root'}\n"
    assert (action_dir / "root/out/copy.txt").read_text() == "in\n"


def test_nothing_else_of_the_host_is_there(action_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "beside_the_action.txt"
    secret.write_text("host data")
    checkout = Path.cwd()  # the test's runfiles: a directory of the host like any checkout
    # The sandbox's /tmp is empty but for the way to the action's directory, when that is in /tmp.
    on_the_way = action_dir.relative_to("/tmp").parts[0] if action_dir.is_relative_to("/tmp") else ""
    probe = f"rps-sandbox-probe-{uuid.uuid4().hex}"
    script = f"""
        test ! -e {secret} || echo "sees {secret}"
        test ! -e {checkout} || echo "sees {checkout}"
        test -z "$(ls -A /tmp | grep -vx '{on_the_way}')" || echo "/tmp holds $(ls -A /tmp)"
        touch /usr/{probe} 2>/dev/null && echo "/usr is writable"
        touch /etc/{probe} 2>/dev/null && echo "/etc is writable"
        touch /tmp/{probe} && echo "/tmp is writable"
    """
    done = _run(script, {"PATH": "/usr/bin:/bin"}, action_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "/tmp is writable\n", done.stdout
    assert not (Path("/tmp") / probe).exists(), "the sandbox's /tmp is the host's"


@pytest.mark.parametrize("env", [{}, {"A": "1"}, {"PATH": "/nowhere:/usr/bin:/bin", "PWD": "/as/given"}],
                         ids=["empty", "no PATH", "PATH and PWD"])
def test_the_environment_is_exactly_the_actions(action_dir: Path, env: dict[str, str]) -> None:
    done = subprocess.run(sandbox.command(["/usr/bin/env", "-0"], env, action_dir, action_dir / "root"), env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert dict(line.split("=", 1) for line in done.stdout.split("\0") if line) == env


def test_hidden_host_programs_cannot_run(action_dir: Path) -> None:
    done = subprocess.run(sandbox.command(["/bin/sh", "-c", "echo started; /usr/bin/seq 1 && echo runs"], {},
                                          action_dir, action_dir / "root", hidden=("/usr/bin/seq",)),
                          env={}, capture_output=True, text=True, timeout=60)
    assert done.stdout == "started\n", (done.stdout, done.stderr)
