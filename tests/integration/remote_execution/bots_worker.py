"""A REAPI worker for BuildGrid's Bots service that runs each action on this host.

BuildGrid's wheels (PyPI) hold the server only; its own workers (buildbox-worker and the
buildbox-run-* runners) are C++ programs that neither PyPI nor Debian 12 ships. This is the
smallest worker that does their job with BuildGrid's own client library and protos:

- one bot session per slot (capacity 1 each), long-polling UpdateBotSession for a lease and
  keeping the session alive while its action runs;
- each action in a fresh directory holding exactly its input root (files hard-linked from a
  local blob cache, read-only), the output directories created, nothing else;
- the command's environment exactly as the Action gives it, plus TMPDIR (a private, empty
  directory, what Bazel's local strategies give a spawn too) when the action sets none;
- stdout, stderr, the exit code and the declared outputs (files, directories as Trees,
  symlinks) uploaded to the CAS and returned as the lease's ActionResult.

With `--sandbox` (what the test uses) each command runs in its own mount and PID namespaces
whose root holds only the system's directories, read-only, a private /tmp and the action's own
directory (sandbox.py), as in a container: an action that reaches for the checkout, an output
base, a cache or a home directory by absolute path fails. Without it, the command runs directly
on this host, like buildbox-run-hosttools. What a cluster's image must hold is in
docs/releases.md ("Remote execution").
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import grpc
from buildgrid._protos.build.bazel.remote.execution.v2 import remote_execution_pb2 as re_pb2
from buildgrid._protos.google.devtools.remoteworkers.v1test2 import bots_pb2, bots_pb2_grpc, worker_pb2
from buildgrid._protos.google.rpc import code_pb2
from buildgrid.server.client.cas import download, upload

import sandbox

# How long an idle bot long-polls for work, and how often a busy one reports that it lives
# (BuildGrid's bot-session-keepalive-timeout defaults to 600 s).
_POLL_SECONDS = 20.0
_KEEPALIVE_SECONDS = 30.0


class BlobCache:
    """Blobs downloaded once per worker, keyed by digest and executable bit, linked into each
    action's input root. The files are read-only: an action that writes to its inputs fails
    instead of changing the next action's."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._directories: dict[str, re_pb2.Directory] = {}
        self._lock = threading.Lock()

    def path(self, digest: re_pb2.Digest, executable: bool) -> Path:
        return self.root / f"{digest.hash}-{digest.size_bytes}{'-x' if executable else ''}"

    def directories(self, downloader, digests: list[re_pb2.Digest]) -> list[re_pb2.Directory]:
        with self._lock:
            missing = [d for d in {d.hash: d for d in digests}.values() if d.hash not in self._directories]
        if missing:
            fetched = downloader.get_messages(missing, [re_pb2.Directory() for _ in missing])
            with self._lock:
                for digest, message in zip(missing, fetched):
                    self._directories[digest.hash] = message
        with self._lock:
            return [self._directories[d.hash] for d in digests]

    def fetch(self, downloader, files: list[tuple[re_pb2.Digest, bool]]) -> None:
        """Makes sure every (digest, executable) of `files` is in the cache."""
        wanted = {}
        for digest, executable in files:
            target = self.path(digest, executable)
            if not target.exists():
                wanted[target] = (digest, executable)
        staged = []
        for target, (digest, executable) in sorted(wanted.items()):
            tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")
            if digest.size_bytes == 0:
                tmp.write_bytes(b"")
            else:
                downloader.download_file(digest, str(tmp), is_executable=executable)
            staged.append((tmp, target, executable))
        downloader.flush()
        for tmp, target, executable in staged:
            tmp.chmod(0o555 if executable else 0o444)
            os.replace(tmp, target)


def stage_input_root(cache: BlobCache, downloader, root_digest: re_pb2.Digest, dest: Path) -> None:
    """Writes the input root `root_digest` to the empty directory `dest`."""
    level = [(root_digest, dest)]
    while level:
        directories = cache.directories(downloader, [d for d, _ in level])
        files, next_level = [], []
        for directory, (_, path) in zip(directories, level):
            path.mkdir(parents=True, exist_ok=True)
            for node in directory.files:
                files.append((node.digest, node.is_executable, path / node.name))
            for node in directory.symlinks:
                os.symlink(node.target, path / node.name)
            for node in directory.directories:
                next_level.append((node.digest, path / node.name))
        cache.fetch(downloader, [(d, x) for d, x, _ in files])
        for digest, executable, path in files:
            os.link(cache.path(digest, executable), path)
        level = next_level


def _output_paths(command: re_pb2.Command) -> list[str]:
    if command.output_paths:
        return list(command.output_paths)
    return list(command.output_files) + list(command.output_directories)


def run_action(action: re_pb2.Action, channel: grpc.Channel, instance: str, cache: BlobCache,
               work_root: Path, log, sandboxed: bool, hidden: tuple[str, ...]) -> re_pb2.ActionResult:
    """Runs `action` in a fresh directory under `work_root` and uploads what it made."""
    work = Path(tempfile.mkdtemp(prefix="action-", dir=work_root))
    try:
        with download(channel, instance=instance) as downloader:
            command = downloader.get_message(action.command_digest, re_pb2.Command())
            root = work / "root"
            stage_input_root(cache, downloader, action.input_root_digest, root)
        cwd = root / command.working_directory
        outputs = _output_paths(command)
        for rel in outputs:
            (cwd / rel).parent.mkdir(parents=True, exist_ok=True)
        for rel in command.output_directories:
            (cwd / rel).mkdir(parents=True, exist_ok=True)
        env = {v.name: v.value for v in command.environment_variables}
        if "TMPDIR" not in env:
            (work / "tmp").mkdir()
            env["TMPDIR"] = str(work / "tmp")
        argv = list(command.arguments)
        if "/" in argv[0] and not argv[0].startswith("/"):
            argv[0] = str(cwd / argv[0])
        program = argv[0]
        if sandboxed:
            argv = sandbox.command(argv, env, work, cwd, hidden)
        timeout = action.timeout.ToTimedelta().total_seconds() or None
        started = time.monotonic()
        with open(work / "stdout", "wb") as out, open(work / "stderr", "wb") as err:
            try:
                done = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                      timeout=timeout, start_new_session=True)
                exit_code = done.returncode
            except FileNotFoundError as e:
                err.write(f"bots_worker: cannot run {argv[0]}: {e}\n".encode())
                exit_code = 127
            except subprocess.TimeoutExpired:
                err.write(f"bots_worker: timed out after {timeout} s\n".encode())
                exit_code = 124
        result = re_pb2.ActionResult(exit_code=exit_code)
        with upload(channel, instance=instance) as uploader:
            result.stdout_digest.CopyFrom(uploader.upload_file(str(work / "stdout"), queue=False))
            result.stderr_digest.CopyFrom(uploader.upload_file(str(work / "stderr"), queue=False))
            for rel in sorted(set(outputs)):
                path = cwd / rel
                if path.is_symlink():
                    result.output_symlinks.add(path=rel, target=os.readlink(path))
                elif path.is_dir():
                    result.output_directories.add(path=rel, tree_digest=uploader.upload_tree(str(path), queue=True))
                elif path.is_file():
                    result.output_files.add(path=rel, digest=uploader.upload_file(str(path), queue=True),
                                            is_executable=os.access(path, os.X_OK))
            uploader.flush()
        log(f"ran {program.rsplit('/', 1)[-1]} exit {exit_code} in {time.monotonic() - started:.1f} s")
        return result
    finally:
        for dirpath, dirnames, _ in os.walk(work):
            for name in dirnames:
                try:
                    os.chmod(os.path.join(dirpath, name), 0o755)
                except OSError:
                    pass
        shutil.rmtree(work, ignore_errors=True)


class Slot(threading.Thread):
    """One bot session: takes one lease at a time, runs it, reports it."""

    def __init__(self, index: int, channel: grpc.Channel, instance: str, cache: BlobCache, work_root: Path,
                 properties: dict[str, str], stop: threading.Event, sandboxed: bool, hidden: tuple[str, ...]) -> None:
        super().__init__(name=f"slot-{index}", daemon=True)
        self.channel, self.instance, self.cache, self.work_root = channel, instance, cache, work_root
        self.stub = bots_pb2_grpc.BotsStub(channel)
        self.stop = stop
        self.sandboxed, self.hidden = sandboxed, hidden
        device = worker_pb2.Device(handle=f"slot-{index}",
                                   properties=[worker_pb2.Device.Property(key=k, value=v)
                                               for k, v in sorted(properties.items())])
        self.session = bots_pb2.BotSession(bot_id=f"{os.uname().nodename}-{os.getpid()}-{index}",
                                           status=bots_pb2.BotStatus.OK,
                                           worker=worker_pb2.Worker(devices=[device]))

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} {self.name}] {message}", file=sys.stderr, flush=True)

    def _update(self, timeout: float) -> None:
        request = bots_pb2.UpdateBotSessionRequest(name=self.session.name, bot_session=self.session)
        self.session = self.stub.UpdateBotSession(request, timeout=timeout)

    def run(self) -> None:
        self.session = self.stub.CreateBotSession(
            bots_pb2.CreateBotSessionRequest(parent=self.instance, bot_session=self.session), timeout=_POLL_SECONDS)
        while not self.stop.is_set():
            try:
                # A lease comes PENDING; one the server sends again (its answer to our
                # acceptance got lost) comes ACTIVE.
                offered = [l for l in self.session.leases
                           if l.state in (bots_pb2.LeaseState.PENDING, bots_pb2.LeaseState.ACTIVE)]
                if not offered:
                    del self.session.leases[:]
                    self._update(_POLL_SECONDS)
                    continue
                lease = bots_pb2.Lease()
                lease.CopyFrom(offered[0])
                lease.state = bots_pb2.LeaseState.ACTIVE
                self._execute(lease)
            except grpc.RpcError as e:
                if e.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE,
                                grpc.StatusCode.RESOURCE_EXHAUSTED):
                    time.sleep(0.2)
                    continue
                raise

    def _report(self, lease: bots_pb2.Lease) -> None:
        del self.session.leases[:]
        self.session.leases.append(lease)
        self._update(_POLL_SECONDS)

    def _execute(self, lease: bots_pb2.Lease) -> None:
        self._report(lease)  # accepted: ACTIVE
        box: dict = {}

        def work() -> None:
            try:
                if lease.payload.Is(re_pb2.Action.DESCRIPTOR):
                    action = re_pb2.Action()
                    lease.payload.Unpack(action)
                else:
                    digest = re_pb2.Digest()
                    lease.payload.Unpack(digest)
                    with download(self.channel, instance=self.instance) as downloader:
                        action = downloader.get_message(digest, re_pb2.Action())
                box["result"] = run_action(action, self.channel, self.instance, self.cache, self.work_root, self.log,
                                           self.sandboxed, self.hidden)
            except Exception as e:  # reported to the client as the lease's status
                box["error"] = f"{type(e).__name__}: {e}"

        runner = threading.Thread(target=work, daemon=True)
        runner.start()
        while runner.is_alive():
            runner.join(_KEEPALIVE_SECONDS)
            if runner.is_alive():
                try:
                    self._report(lease)  # capacity is full: the server answers at once
                except grpc.RpcError as e:
                    self.log(f"keepalive failed: {e.code()}")
        lease.state = bots_pb2.LeaseState.COMPLETED
        if "error" in box:
            self.log(f"lease {lease.id} failed: {box['error']}")
            lease.status.code = code_pb2.INTERNAL
            lease.status.message = box["error"][:2000]
        else:
            lease.status.code = code_pb2.OK
            lease.result.Pack(box["result"])
        for attempt in range(50):
            try:
                self._report(lease)
                return
            except grpc.RpcError as e:
                if e.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE,
                                    grpc.StatusCode.RESOURCE_EXHAUSTED):
                    raise
                time.sleep(0.2 * (attempt + 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--remote", required=True, help="the BuildGrid server, e.g. 127.0.0.1:50051")
    parser.add_argument("--instance", default="", help="instance name (default: the unnamed one)")
    parser.add_argument("--work-dir", type=Path, required=True, help="blob cache and action directories")
    parser.add_argument("--slots", type=int, default=os.cpu_count() or 1, help="actions at once")
    parser.add_argument("--property", action="append", default=[], metavar="KEY=VALUE",
                        help="a platform property this worker offers (repeatable)")
    parser.add_argument("--sandbox", action="store_true",
                        help="run each action in its own namespaces, seeing only the system's directories (sandbox.py)")
    parser.add_argument("--hide", action="append", default=[], metavar="FILE",
                        help="with --sandbox: a host program actions must not use (repeatable)")
    args = parser.parse_args(argv)
    if args.hide and not args.sandbox:
        parser.error("--hide needs --sandbox")
    if args.sandbox:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        try:
            sandbox.check(args.work_dir)
        except sandbox.SandboxError as err:
            print(f"bots_worker: --sandbox: {err}", file=sys.stderr)
            return 2
    properties = dict(p.split("=", 1) for p in args.property)
    options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
    channel = grpc.insecure_channel(args.remote, options=options)
    cache = BlobCache(args.work_dir / "blobs")
    actions = args.work_dir / "actions"
    actions.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    slots = [Slot(i, channel, args.instance, cache, actions, properties, stop, args.sandbox, tuple(args.hide))
             for i in range(args.slots)]
    for slot in slots:
        slot.start()
    print(f"bots_worker: {args.slots} slots polling {args.remote}", file=sys.stderr, flush=True)
    while not stop.is_set() and all(s.is_alive() for s in slots):
        stop.wait(1.0)
    return 0 if stop.is_set() else 1


if __name__ == "__main__":
    sys.exit(main())
