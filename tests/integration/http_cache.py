"""An HTTP cache for Bazel (its remote caching protocol over plain HTTP) for the integration
tests: nginx with WebDAV from Debian's package, one foreground process in its own process group,
on 127.0.0.1 at a port chosen when it starts, its configuration, store, logs and temporary files
in a directory of the test's (docs/releases.md, "A shared cache")."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

_START_ATTEMPTS = 5
_START_TIMEOUT_SECONDS = 20


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_conf(workdir: Path, port: int, seed: tuple[int, Path] | None) -> str:
    """A single-process nginx in the foreground: a WebDAV store for Bazel's HTTP cache protocol
    (GET and PUT of /ac/<sha256> and /cas/<sha256>) under workdir/store. With `seed` (a port and
    a Bazel disk cache directory), what the store lacks is read from the disk cache (whose layout
    is ac/<2 hex digits>/<sha256>) through a second server on that port, and kept in the store."""
    lines = [
        "daemon off;",
        "master_process off;",
        f"pid {workdir}/nginx.pid;",
        f"lock_file {workdir}/nginx.lock;",
        f"error_log {workdir}/error.log info;",
        "events { worker_connections 1024; }",
        "http {",
        f"  access_log {workdir}/access.log;",
        "  default_type application/octet-stream;",
        *(f"  {kind}_temp_path {workdir}/tmp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
        "  server {",
        f"    listen 127.0.0.1:{port};",
        f"    root {workdir}/store;",
        "    client_max_body_size 0;",
        "    dav_methods PUT DELETE;",
        "    create_full_put_path on;",
        "    dav_access user:rw;",
    ]
    if seed is None:
        lines += ["  }"]
    else:
        seed_port, disk_cache = seed
        lines += [
            "    log_not_found off;",
            "    location / { error_page 404 = @seed; }",
            "    location @seed {",
            f"      proxy_pass http://127.0.0.1:{seed_port};",
            "      proxy_store on;",
            "      proxy_store_access user:rw;",
            "    }",
            "  }",
            "  server {",
            f"    listen 127.0.0.1:{seed_port};",
            f"    access_log {workdir}/seed_access.log;",
            "    log_not_found off;",
            '    location ~ "^/(ac|cas)/([0-9a-f]{2})([0-9a-f]{62})$" {',
            "      limit_except GET { deny all; }",
            f"      alias {disk_cache}/$1/$2/$2$3;",
            "    }",
            "    location / { return 404; }",
            "  }",
        ]
    lines += ["}", ""]
    return "\n".join(lines)


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy for 127.0.0.1
    try:
        opener.open(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True  # any HTTP status: it is serving
    except OSError:
        return False
    return True


def _stop(proc: subprocess.Popen) -> None:
    # nginx runs in its own session: end its whole process group.
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)


@contextlib.contextmanager
def nginx_cache(nginx: str, workdir: Path, seed: Path | None = None) -> Iterator[str]:
    """Runs nginx (nginx_conf) until the block ends, however it ends; yields the cache's URL.
    Ports are chosen when it starts, again when one was taken in between."""
    (workdir / "store").mkdir(parents=True, exist_ok=True)
    (workdir / "tmp").mkdir(exist_ok=True)
    error_log = workdir / "error.log"
    for attempt in range(_START_ATTEMPTS):
        port = free_port()
        conf = workdir / "nginx.conf"
        conf.write_text(nginx_conf(workdir, port, None if seed is None else (free_port(), seed)))
        error_log.write_text("")
        with open(workdir / "nginx.out", "wb") as out:
            proc = subprocess.Popen([nginx, "-p", f"{workdir}/", "-c", str(conf), "-e", str(error_log)],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + _START_TIMEOUT_SECONDS
            while proc.poll() is None and not _answers(url + "/"):
                if time.monotonic() > deadline:
                    pytest.fail(f"nginx did not answer at {url} within {_START_TIMEOUT_SECONDS} s; its error log:\n"
                                + error_log.read_text()[-4000:])
                time.sleep(0.1)
            if proc.poll() is None:
                yield url
                return
        finally:
            _stop(proc)
        log = error_log.read_text() + (workdir / "nginx.out").read_text()
        if "Address already in use" not in log:
            pytest.fail(f"nginx exited with status {proc.returncode} at start; its error log:\n{log[-4000:]}")
    pytest.fail(f"nginx found no free port in {_START_ATTEMPTS} attempts; its last error log:\n{log[-4000:]}")


def nginx_binary() -> str:
    """Debian's nginx, from the test's NGINX (a runfile path of @rps_test_nginx)."""
    return str(Path(os.environ["NGINX"]).resolve())
