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
import subprocess
import time
from pathlib import Path

from tests import rlocation
from tests.integration import nested_bazel
from tests.integration.remote_execution import service
from tools.pypi import lock_reader

TARGETS = ["//examples/hello"]

_PASSED_ENV = ("PATH", "HOME", "USER", "SSL_CERT_FILE", "SSL_CERT_DIR",
               "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


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


def test_every_action_runs_remotely(tmp_path: Path) -> None:
    targets = os.environ.get("RPS_RBE_TARGETS", "").split() or TARGETS
    started = time.monotonic()
    venv = make_venv(tmp_path / "venv")
    checkout = tmp_path / "src"
    nested_bazel.copy_checkout(nested_bazel.repo_root(), checkout)
    output_root = tmp_path / "output_root"
    log = tmp_path / "execution_log.json"
    startup = [f"--output_user_root={output_root}", "--max_idle_secs=60"]
    env = {k: v for k, v in os.environ.items() if k in _PASSED_ENV}
    cache = Path(os.environ.get("RULES_PY_STANDALONE_CACHE") or Path.home() / ".cache/rules_py_standalone")
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
            done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, timeout=4 * 3600)
            seconds = time.monotonic() - build_started
            entries = list(nested_bazel.spawns(log)) if log.exists() else []
            bad = failed(entries)
            assert done.returncode == 0, (
                f"the remote build failed after {seconds:.0f} s; spawns that failed: {bad or 'none logged'}\n"
                f"{done.stderr[-8000:]}\n{rbe.logs()}")
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
