"""A second clone, in another directory with a fresh output base, builds from an HTTP cache alone
(docs/releases.md, "A shared cache").

The cache is nginx with WebDAV (Debian's package), started by the test on 127.0.0.1 at a free
port, its configuration, store, logs and temporary files in the test's temporary directory.
Three builds of `//examples/hello`, none with a disk cache:

1. seed: the cache reads through to the machine's shared disk cache (`--disk_cache` of
   .bazelrc) and keeps what it serves, so the CPython distribution and the other toolchain
   actions come in without a build of minutes. Bazel (7.7.1) uploads no disk cache hit to a
   remote cache (a build with both caches sends the remote cache nothing:
   `test_bazel_uploads_no_disk_cache_hit`), hence the read-through in nginx. The per-binary
   actions (`PyStandalone*`, `CppCompile`, `CppLink`) are kept off the cache in this build
   (`no-remote-cache`), so neither the disk cache nor this build gives them to the cache;
2. first clone: nginx restarted without the read-through, a fresh output base: the per-binary
   actions run here and Bazel uploads them (PUT), every other spawn is a remote cache hit (the
   execution log shows both);
3. second clone, in another directory, another fresh output base: every spawn is a remote cache
   hit, the per-binary ones listed in MUST_HIT among them; the binary runs, and its bytes are
   the first clone's.

With an empty or absent shared disk cache, or with RPS_REMOTE_CACHE_FROM_SCRATCH=1 (no
read-through at all), the seed build builds CPython itself (minutes) and uploads it; the test is
then slower but the same.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import http_cache, nested_bazel

TARGET = "//examples/hello"
EXPECTED_OUTPUT = "Hello from Python 3.13!\n"

# The per-binary actions and the per-distribution stdlib compile: what the first clone runs and
# uploads, and what the second must take from the cache.
PER_BINARY = r"^(PyStandalone.*|CppCompile|CppLink)$"
MUST_HIT = {"PyStandaloneCompile", "PyStandaloneCompileStdlib", "PyStandalonePack", "PyStandaloneEmit",
            "PyStandaloneLinkPlan", "CppCompile", "CppLink", "PyStandaloneAudit"}

def _wipe(path: Path) -> None:
    subprocess.run(["chmod", "-R", "u+w", str(path)], check=False)
    shutil.rmtree(path, ignore_errors=True)


def _wipe_all(tmp_path: Path) -> None:
    # Output roots (read-only files), checkouts, the cache's store: gigabytes, not left behind.
    for child in tmp_path.iterdir():
        if child.is_dir() and not child.is_symlink():
            _wipe(child)
        else:
            child.unlink()


@pytest.fixture(autouse=True)
def _nothing_left(tmp_path: Path) -> Iterator[None]:
    yield
    _wipe_all(tmp_path)


def _build(checkout: Path, output_root: Path, cache_url: str, log: Path, *flags: str) -> tuple[Path, float]:
    """Builds TARGET with the HTTP cache and no disk cache; (the binary, seconds taken). The
    Bazel server goes at the end; the output root stays for the caller to wipe."""
    startup = [f"--output_user_root={output_root}", "--max_idle_secs=60"]
    env = nested_bazel.clean_env()
    cmd = [nested_bazel.bazel(), *startup, "build", f"--remote_cache={cache_url}", "--disk_cache=",
           f"--repository_cache={nested_bazel.shared_cache()}/repository_cache", "--remote_download_outputs=all",
           f"--execution_log_json_file={log}", *flags, TARGET]
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, timeout=3600)
        seconds = time.monotonic() - started
        assert done.returncode == 0, f"the build in {checkout} failed:\n{done.stderr[-6000:]}"
        bin_dir = subprocess.run([cmd[0], *startup, "info", "bazel-bin"], cwd=checkout, env=env,
                                 capture_output=True, text=True, timeout=300).stdout.strip()
    finally:
        subprocess.run([cmd[0], *startup, "shutdown"], cwd=checkout, env=env, capture_output=True, timeout=300)
    assert bin_dir, f"bazel info bazel-bin gave nothing in {checkout}"
    return Path(bin_dir, "examples/hello/hello"), seconds


def _runners(log: Path) -> list[tuple[str, str, str]]:
    """(mnemonic, runner, first output) of every spawn in the execution log."""
    return [(e.get("mnemonic", ""), e.get("runner", ""), (e.get("listedOutputs") or [""])[0])
            for e in nested_bazel.spawns(log)]


def _requests(access_log: Path, method: str) -> int:
    """How many `method` requests of cache entries nginx's access log shows as answered (2xx)."""
    if not access_log.exists():
        return 0
    pattern = re.compile(rf'"{method} /(ac|cas)/[0-9a-f]{{64}} HTTP/[0-9.]+" 2[0-9][0-9] ')
    return sum(1 for line in access_log.read_text().splitlines() if pattern.search(line))


def test_second_clone_builds_from_the_remote_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nginx = http_cache.nginx_binary()
    version = subprocess.run([nginx, "-v"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, (
        f"nginx from Debian 13 does not start on this host (a shared library missing?):\n{version.stderr}")
    per_binary = re.compile(PER_BINARY)
    repo = nested_bazel.repo_root()
    first, second = tmp_path / "one/src", tmp_path / "two/a/much/longer/path/clone-2"
    server = tmp_path / "nginx"
    from_scratch = os.environ.get("RPS_REMOTE_CACHE_FROM_SCRATCH") == "1"
    seed = None if from_scratch else nested_bazel.shared_cache() / "disk_cache"
    times = {}
    started = time.monotonic()
    try:
        nested_bazel.copy_checkout(repo, first)
        # 1. Seed: the toolchain's actions through nginx from the shared disk cache (from scratch:
        # built here and uploaded), the per-binary ones kept off the cache.
        phase = time.monotonic()
        with http_cache.nginx_cache(nginx, server, seed=seed) as url:
            _, times["seed"] = _build(first, tmp_path / "output_root_seed", url, tmp_path / "seed.json",
                                      f"--modify_execution_info={PER_BINARY}=+no-remote-cache")
        seeded, seed_uploads = _requests(server / "seed_access.log", "GET"), _requests(server / "access.log", "PUT")
        _wipe(tmp_path / "output_root_seed")
        times["seed phase"] = time.monotonic() - phase

        # 2. The first clone: the per-binary actions run and are uploaded.
        phase = time.monotonic()
        (server / "access.log").unlink(missing_ok=True)
        with http_cache.nginx_cache(nginx, server) as url:
            binary, times["first"] = _build(first, tmp_path / "output_root_1", url, tmp_path / "first.json")
            first_bytes = binary.read_bytes()
        spawns = _runners(tmp_path / "first.json")
        ran = {m for m, runner, _ in spawns if runner != "remote cache hit"}
        assert MUST_HIT <= ran, f"the first clone did not run (and upload) {sorted(MUST_HIT - ran)}"
        # The seed build kept the per-binary actions off the cache and brought in all the others.
        wrong = [(m, runner, out) for m, runner, out in spawns
                 if (runner == "remote cache hit") == bool(per_binary.match(m))]
        assert not wrong, "in the first clone, per-binary spawns came from the cache or others did not: " + "; ".join(
            f"{m} ({runner}) -> {out}" for m, runner, out in wrong[:20])
        ran_first = sum(1 for m, _, _ in spawns if per_binary.match(m))
        uploads = _requests(server / "access.log", "PUT")
        assert uploads, "the first clone uploaded nothing: no PUT in nginx's access log"
        _wipe(tmp_path / "output_root_1")
        times["first phase"] = time.monotonic() - phase

        # 3. The second clone, elsewhere: everything from nginx.
        phase = time.monotonic()
        nested_bazel.copy_checkout(repo, second)
        (server / "access.log").unlink(missing_ok=True)
        with http_cache.nginx_cache(nginx, server) as url:
            binary, times["second"] = _build(second, tmp_path / "output_root_2", url, tmp_path / "second.json")
            run = subprocess.run([binary], capture_output=True, text=True, timeout=60)
            second_bytes = binary.read_bytes()
        spawns = _runners(tmp_path / "second.json")
        local = [(m, runner, out) for m, runner, out in spawns if runner != "remote cache hit"]
        assert not local, "the second clone ran spawns locally, not from the cache: " + "; ".join(
            f"{m} ({runner}) -> {out}" for m, runner, out in local[:20])
        hit = {m for m, _, _ in spawns}
        assert MUST_HIT <= hit, f"the second clone's log has no {sorted(MUST_HIT - hit)} at all"
        assert run.returncode == 0 and run.stdout == EXPECTED_OUTPUT, (
            f"the second clone's binary: exit {run.returncode}, stdout {run.stdout!r}, stderr {run.stderr[-2000:]!r}")
        assert second_bytes == first_bytes, "the second clone's binary differs from the first's"
        times["second phase"] = time.monotonic() - phase
        with capsys.disabled():
            print(f"\nremote cache: seed build {times['seed']:.0f} s ({seeded} entries read through from the "
                  f"disk cache, {seed_uploads} uploads), first clone {times['first']:.0f} s ({ran_first} "
                  f"per-binary spawns run, {uploads} uploads), second clone {times['second']:.0f} s "
                  f"({len(spawns)} spawns, all remote cache hits: "
                  f"{len([m for m, _, _ in spawns if per_binary.match(m)])} per-binary); the three phases "
                  f"with their servers' start and stop and the removal of their output roots "
                  f"{times['seed phase']:.0f}, {times['first phase']:.0f} and {times['second phase']:.0f} s; "
                  f"{time.monotonic() - started:.0f} s in all")
    finally:
        _wipe_all(tmp_path)


def _http(method: str, url: str, data: bytes | None = None) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, data=data, method=method), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def test_nginx_cache_stores_and_reads_through(tmp_path: Path) -> None:
    """PUT then GET of an entry; with a seed, an entry of the disk cache is served and kept."""
    key = "ab" + "0" * 62
    disk_cache = tmp_path / "disk_cache"
    (disk_cache / "cas/ab").mkdir(parents=True)
    (disk_cache / "cas/ab" / key).write_bytes(b"from the disk cache")
    with http_cache.nginx_cache(http_cache.nginx_binary(), tmp_path / "server", seed=disk_cache) as url:
        assert _http("PUT", f"{url}/ac/{'cd' * 32}", b"uploaded")[0] in (201, 204)
        assert _http("GET", f"{url}/ac/{'cd' * 32}") == (200, b"uploaded")
        assert _http("GET", f"{url}/cas/{key}") == (200, b"from the disk cache")
        assert _http("GET", f"{url}/cas/{'ef' * 32}")[0] == 404
    assert (tmp_path / "server/store/cas" / key).read_bytes() == b"from the disk cache"
    with http_cache.nginx_cache(http_cache.nginx_binary(), tmp_path / "server") as url:
        assert _http("GET", f"{url}/cas/{key}") == (200, b"from the disk cache")  # now from the store


def test_nginx_cache_takes_another_port_when_one_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports, free_port = [taken.getsockname()[1]], http_cache.free_port
        monkeypatch.setattr(http_cache, "free_port", lambda: ports.pop() if ports else free_port())
        with http_cache.nginx_cache(http_cache.nginx_binary(), tmp_path / "server") as url:
            assert not url.endswith(f":{taken.getsockname()[1]}")
            assert _http("GET", f"{url}/ac/{'00' * 32}")[0] == 404


def test_nginx_cache_shows_the_error_log_when_nginx_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_cache, "nginx_conf", lambda *args: "no_such_directive on;\n")
    with pytest.raises(pytest.fail.Exception, match='unknown directive "no_such_directive"'):
        with http_cache.nginx_cache(http_cache.nginx_binary(), tmp_path / "server"):
            pass


def test_bazel_uploads_no_disk_cache_hit(tmp_path: Path) -> None:
    """Why the seed build reads through in nginx: a build with both --disk_cache and
    --remote_cache that finds an action in the disk cache sends the remote cache nothing (Bazel
    7.7.1). Should a Bazel upload such hits, the seed could come from --disk_cache instead."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "WORKSPACE").write_text("")
    (workspace / "BUILD.bazel").write_text('genrule(name = "g", outs = ["g.txt"], cmd = "echo g > $@")\n')
    env = nested_bazel.clean_env()
    disk_cache = tmp_path / "disk_cache"
    try:
        with http_cache.nginx_cache(http_cache.nginx_binary(), tmp_path / "server") as url:
            for index, remote in enumerate(([], [f"--remote_cache={url}"])):
                startup = [f"--output_user_root={tmp_path}/output_root_{index}", "--max_idle_secs=60"]
                log = tmp_path / f"{index}.json"
                try:
                    done = subprocess.run([nested_bazel.bazel(), *startup, "build", "--noenable_bzlmod",
                                           f"--disk_cache={disk_cache}", f"--execution_log_json_file={log}",
                                           *remote, "//:g"], cwd=workspace, env=env, capture_output=True,
                                          text=True, timeout=600)
                finally:
                    subprocess.run([nested_bazel.bazel(), *startup, "shutdown"], cwd=workspace, env=env,
                                   capture_output=True, timeout=300)
                assert done.returncode == 0, done.stderr[-4000:]
        assert [runner for _, runner, _ in _runners(tmp_path / "1.json")] == ["disk cache hit"]
        access = (tmp_path / "server/access.log").read_text()
        assert "PUT " not in access, "Bazel now uploads disk cache hits to the remote cache:\n" + access[-2000:]
    finally:
        _wipe_all(tmp_path)


def test_nginx_conf_listens_on_loopback_only(tmp_path: Path) -> None:
    seeded = http_cache.nginx_conf(tmp_path, 8080, (8081, tmp_path / "dc"))
    for conf in (http_cache.nginx_conf(tmp_path, 8080, None), seeded):
        listens = re.findall(r"^\s*listen (\S+);", conf, re.M)
        assert listens and all(a.startswith("127.0.0.1:") for a in listens), listens
        assert "daemon off;" in conf and "master_process off;" in conf
