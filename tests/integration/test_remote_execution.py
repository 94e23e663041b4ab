"""Every action of a standalone binary, the CPython build included, runs on a REAPI service
(docs/releases.md, "Remote execution").

The service is BuildGrid's server from PyPI (pinned and hashed in
remote_execution/requirements.txt, installed into a venv of this repository's own CPython),
with PostgreSQL for its scheduler and remote_execution/bots_worker.py as the worker, all on
this machine: BuildGrid on 127.0.0.1 at a port chosen at run time, PostgreSQL on a Unix socket.
The test stops all three whatever happens.

A copy of this checkout builds the targets with `--spawn_strategy=remote
--noremote_local_fallback` and no disk cache (the repository cache is shared: it holds
downloads, not actions). The execution log must then show every spawn as run by the remote
runner, none from a cache; when the build fails, the message names every spawn that failed
remotely with the end of its stderr.

About 20 minutes on 2 cores (CPython is built remotely too: 8 of them): `manual`, run it with the command
in docs/releases.md. RPS_RBE_TARGETS (space-separated labels, with --test_env) builds other
targets instead, e.g. //toolchains/cpython:zlib for a two-minute check of the service.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import rlocation
from tests.integration import nested_bazel
from tests.integration.remote_execution import service
from tools.pypi import lock_reader

TARGETS = ["//examples/hello"]

def _runfile(env_var: str) -> Path:
    return rlocation.path(env_var).resolve()


def make_venv(dest: Path) -> Path:
    """A venv of this repository's CPython with the pinned, hashed service requirements."""
    python = _runfile("DISTRIBUTION") / "install/bin/python3"
    subprocess.run([str(python), "-m", "venv", str(dest)], check=True, capture_output=True, timeout=600)
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.setdefault("PIP_INDEX_URL", lock_reader.DEFAULT_INDEX_URL)
    done = subprocess.run([str(dest / "bin/python"), "-m", "pip", "install", "--quiet", "--require-hashes",
                           "--only-binary=:all:", "--no-deps", "-r", str(_runfile("SERVICE_LOCK"))],
                          env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"cannot install the service's requirements:\n{done.stderr[-4000:]}"
    return dest


def not_remote(entries: list[dict]) -> list[str]:
    """Spawns that did not run on the remote executor (a local runner, a cache hit)."""
    return [f"{e.get('mnemonic')} ({e.get('runner')}{', cache hit' if e.get('remoteCacheHit') else ''}) "
            f"-> {(e.get('listedOutputs') or ['?'])[0]}"
            for e in entries if e.get("runner") != "remote" or e.get("remoteCacheHit") or e.get("cacheHit")]


def failed(entries: list[dict]) -> list[str]:
    return [f"{e.get('mnemonic')} exit {e.get('exitCode')} -> {(e.get('listedOutputs') or ['?'])[0]}"
            for e in entries if e.get("exitCode", 0) != 0 or e.get("status", "") not in ("", "SUCCESS")]


def build_while_serving(cmd: list[str], checkout: Path, env: dict[str, str], rbe: service.Service, err: Path,
                        timeout: float = 4 * 3600) -> tuple[int, str]:
    """Runs the build (its stderr to `err`); (exit status, stderr). Fails at once, the build
    stopped, when a process of the service ends or the build exceeds `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with open(err, "wb") as stderr:
        build = subprocess.Popen(cmd, cwd=checkout, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=stderr)
    try:
        while build.poll() is None:
            gone = rbe.exited()
            if gone or time.monotonic() > deadline:
                why = f"the service's {', '.join(gone)} ended" if gone else f"it took over {timeout:.0f} s"
                pytest.fail(f"the remote build was stopped: {why}\n{err.read_text(errors='replace')[-4000:]}\n"
                            f"{rbe.logs()}")
            time.sleep(2)
    finally:
        if build.poll() is None:
            build.send_signal(signal.SIGINT)  # Bazel's client cancels the build on SIGINT
            try:
                build.wait(120)
            except subprocess.TimeoutExpired:
                build.kill()
                build.wait()
    return build.returncode, err.read_text(errors="replace")


def test_every_action_runs_remotely(tmp_path: Path) -> None:
    targets = os.environ.get("RPS_RBE_TARGETS", "").split() or TARGETS
    started = time.monotonic()
    venv = make_venv(tmp_path / "venv")
    checkout = tmp_path / "src"
    nested_bazel.copy_checkout(nested_bazel.repo_root(), checkout)
    output_root = tmp_path / "output_root"
    log = tmp_path / "execution_log.json"
    startup = [f"--output_user_root={output_root}", "--max_idle_secs=60"]
    env = nested_bazel.clean_env()
    cache = nested_bazel.shared_cache()
    print(f"venv ready after {time.monotonic() - started:.0f} s")
    try:
        with service.running(tmp_path / "service", venv, slots=os.cpu_count() or 2) as rbe:
            listening = rbe.listeners()
            assert listening and all(a.rsplit(":", 1)[0] in ("127.0.0.1", "::ffff:127.0.0.1") for a in listening), (
                f"the service listens beyond 127.0.0.1: {listening}")
            build_started = time.monotonic()
            cmd = [nested_bazel.bazel(), *startup, "build",
                   f"--remote_executor={rbe.url}", "--spawn_strategy=remote", "--noremote_local_fallback",
                   "--disk_cache=", f"--repository_cache={cache}/repository_cache",
                   "--remote_default_exec_properties=OSFamily=linux",
                   "--remote_timeout=3600", "--remote_download_outputs=all",
                   # One connection (at most 100 concurrent streams): with Bazel's default of
                   # 100, about half of the uploads to BuildGrid came back CANCELLED.
                   "--remote_max_connections=1",
                   f"--jobs={2 * (os.cpu_count() or 2)}",
                   f"--execution_log_json_file={log}", *targets]
            returncode, stderr = build_while_serving(cmd, checkout, env, rbe, tmp_path / "build.err")
            seconds = time.monotonic() - build_started
            entries = list(nested_bazel.spawns(log)) if log.exists() else []
            bad = failed(entries)
            assert returncode == 0, (
                f"the remote build failed after {seconds:.0f} s; spawns that failed: {bad or 'none logged'}\n"
                f"{stderr[-8000:]}\n{rbe.logs()}")
            print(f"{len(entries)} spawns, all remote, in {seconds:.0f} s")
        assert entries, "the execution log is empty: nothing ran"
        elsewhere = not_remote(entries)
        assert not elsewhere, f"{len(elsewhere)} spawns did not run remotely: " + "; ".join(elsewhere[:20])
        if "//examples/hello" in targets:
            run = subprocess.run([checkout / "bazel-bin/examples/hello/hello"], capture_output=True, text=True,
                                 timeout=60)
            assert run.returncode == 0 and run.stdout, f"the remotely built hello does not run: {run.stderr}"
    finally:
        subprocess.run([nested_bazel.bazel(), *startup, "shutdown"], cwd=checkout, env=env, capture_output=True,
                       timeout=300)
        subprocess.run(["chmod", "-R", "u+w", str(output_root)], check=False)
        shutil.rmtree(output_root, ignore_errors=True)
        shutil.rmtree(venv, ignore_errors=True)
    print(f"total {time.monotonic() - started:.0f} s")


def test_not_remote_names_local_spawns_and_cache_hits() -> None:
    entries = [
        {"mnemonic": "CppCompile", "runner": "remote", "listedOutputs": ["a.o"]},
        {"mnemonic": "Genrule", "runner": "linux-sandbox", "listedOutputs": ["b"]},
        {"mnemonic": "CppLink", "runner": "remote cache hit", "remoteCacheHit": True, "listedOutputs": ["c"]},
    ]
    assert not_remote(entries) == ["Genrule (linux-sandbox) -> b", "CppLink (remote cache hit, cache hit) -> c"]
    assert failed(entries + [{"mnemonic": "X", "exitCode": 1, "listedOutputs": ["d"]}]) == ["X exit 1 -> d"]


class _FakeService:
    def __init__(self, exited: list[str]) -> None:
        self._exited = exited

    def exited(self) -> list[str]:
        return self._exited

    def logs(self) -> str:
        return "--- worker.log (end) ---\nModuleNotFoundError"


def test_build_stops_when_the_service_dies(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match=r"the service's worker \(exit 1\) ended(.|\n)*ModuleNotFoundError"):
        build_while_serving(["sleep", "300"], tmp_path, {}, _FakeService(["worker (exit 1)"]), tmp_path / "err")
    assert time.monotonic() - started < 60


def test_build_while_serving_gives_status_and_stderr(tmp_path: Path) -> None:
    assert build_while_serving(["sh", "-c", "echo oops >&2; exit 3"], tmp_path, {"PATH": "/usr/bin:/bin"},
                               _FakeService([]), tmp_path / "err") == (3, "oops\n")
