"""Prunes the private Bazel's output bases without touching work in progress.

Run by tools/bazel before a command, at most every few minutes (tools/bazel reads
PRUNED_AT_FILE to decide); host python3, standard library only. The policy is described for
users in docs/bazel-install.md. In short, of the output bases under the output root other than
the current workspace's:

- in use, never deleted and not counted: a live server names the base (server.pid.txt and
  /proc/<pid>/cmdline), any live process mentions its path, or it was used within the grace
  period (a server pid file whose process cannot be seen here extends that period to Bazel's
  default --max_idle_secs, as the server may live in another container);
- the idle rest is pruned in this order: (1) its workspace directory is gone, (2) unused for
  longer than the age limit, (3) the least recently used while the idle bases exceed the budget.

"Used" is when the last command ended (command.log, which Bazel writes through the whole
command) or started (Bazel's client lock file, and a stamp this module writes before Bazel
starts), never the directory's own mtime. Pruners serialize on a lock in the output root; a
second one skips. Sizes for the budget are measured with du only for idle bases and cached by
their last-used time, so a normal run measures nothing.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

# This runs before every Bazel command: modules only some runs need (json, subprocess) are
# imported where used, typing (10 ms) only by type checkers, and plain classes stand in for
# dataclasses (8 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

# Bazel writes the workspace's path here; only directories with it are output bases.
WORKSPACE_FILE = "DO_NOT_BUILD_HERE"
STAMP_FILE = "rules_py_standalone_last_used"
LOCK_FILE = "rules_py_standalone_prune.lock"
SIZES_FILE = "rules_py_standalone_sizes.json"
# When the last pruning run started (epoch seconds): tools/bazel skips this module until
# RULES_PY_STANDALONE_PRUNE_INTERVAL_SECONDS have passed, reading it with shell builtins only.
PRUNED_AT_FILE = "rules_py_standalone_pruned_at"
# Bases being deleted are moved here first, so a half-deleted base is never used by Bazel.
TRASH_DIR = "rules_py_standalone_trash"
# Bazel's default --max_idle_secs: a server idle this long has exited by itself.
BAZEL_MAX_IDLE_SECONDS = 3 * 3600
# Files whose mtime marks a use: Bazel's client writes its pid into `lock` as a command starts,
# its server writes command.log through the command; the launcher's stamp; the server's start.
USE_MARKERS = ("command.log", "lock", STAMP_FILE, WORKSPACE_FILE, "server/server.pid.txt")

ENV_OFF = "RULES_PY_STANDALONE_PRUNE"
ENV_DAYS = "RULES_PY_STANDALONE_PRUNE_DAYS"
ENV_BUDGET = "RULES_PY_STANDALONE_PRUNE_BUDGET"
ENV_GRACE = "RULES_PY_STANDALONE_PRUNE_GRACE_MINUTES"
DEFAULT_DAYS = 14.0  # the disk cache's max age in .bazelrc
DEFAULT_BUDGET_BYTES = 20 << 30  # four to six full builds of this repository
DEFAULT_GRACE_MINUTES = 60.0

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class PolicyError(Exception):
    """A policy variable has a value that cannot be read; the message names it."""


class Policy:
    """What may be pruned: ages in seconds, budget in bytes (None: no budget)."""

    def __init__(self, max_age_seconds: float = DEFAULT_DAYS * 86400, budget_bytes: int | None = DEFAULT_BUDGET_BYTES,
                 grace_seconds: float = DEFAULT_GRACE_MINUTES * 60) -> None:
        self.max_age_seconds = max_age_seconds
        self.budget_bytes = budget_bytes
        self.grace_seconds = grace_seconds

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"Policy({vars(self)})"

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Policy:
        return cls(
            max_age_seconds=_number(env, ENV_DAYS, DEFAULT_DAYS) * 86400,
            budget_bytes=parse_size(env[ENV_BUDGET], ENV_BUDGET) if env.get(ENV_BUDGET) else DEFAULT_BUDGET_BYTES,
            grace_seconds=_number(env, ENV_GRACE, DEFAULT_GRACE_MINUTES) * 60,
        )


def _number(env: dict[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise PolicyError(f"{name}={text!r}: expected a number >= 0")
    return value


def parse_size(text: str, name: str = "size") -> int | None:
    """'20G', '500M', '1024' (bytes; K, M, G, T are binary units); 'none' for no limit."""
    spec = text.strip().upper().removesuffix("B").removesuffix("I")
    if spec == "NONE":
        return None
    unit = spec[-1:] if spec[-1:] in _UNITS else ""
    try:
        value = float(spec[: len(spec) - len(unit)])
    except ValueError:
        value = -1.0
    if value < 0:
        raise PolicyError(f"{name}={text!r}: expected a size such as 20G, 500M or none")
    return int(value * _UNITS[unit])


def format_size(size: int) -> str:
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        scale = _UNITS[unit[0]]
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


class OutputBase:
    """One output base as found on disk."""

    def __init__(self, path: Path, workspace: str, last_used: float, server_pid: int | None) -> None:
        self.path = path
        self.workspace = workspace  # as Bazel recorded it in DO_NOT_BUILD_HERE
        self.last_used = last_used  # seconds since the epoch
        self.server_pid = server_pid  # from server/server.pid.txt; Bazel removes it on a clean exit


def base_name(workspace: str) -> str:
    """The output base directory Bazel uses for a workspace: md5 of its path."""
    return hashlib.md5(workspace.encode()).hexdigest()


def last_used(base: Path) -> float:
    times = []
    for marker in USE_MARKERS:
        try:
            times.append((base / marker).stat().st_mtime)
        except OSError:
            pass
    return max(times, default=0.0)


def read_output_base(path: Path) -> OutputBase | None:
    try:
        workspace = (path / WORKSPACE_FILE).read_text().strip()
    except OSError:
        return None  # not an output base, or one Bazel is still creating
    try:
        pid: int | None = int((path / "server" / "server.pid.txt").read_text().strip())
    except (OSError, ValueError):
        pid = None
    return OutputBase(path, workspace, last_used(path), pid)


def read_output_bases(root: Path) -> list[OutputBase]:
    bases = []
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and entry.name != TRASH_DIR:
            base = read_output_base(Path(entry.path))
            if base:
                bases.append(base)
    return bases


def process_cmdlines(proc: Path = Path("/proc")) -> dict[int, str]:
    """Every visible process's command line, arguments joined by NUL."""
    cmdlines = {}
    own = os.getpid()
    for entry in os.scandir(proc):
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            cmdlines[int(entry.name)] = (proc / entry.name / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            pass  # exited meanwhile, or hidden from us
    return cmdlines


def spellings(base: Path) -> tuple[str, ...]:
    """The base's path as given and with symlinks resolved, as a process may name it."""
    return tuple({str(base), os.path.realpath(base)})


def mentions(cmdline: str, names: tuple[str, ...]) -> bool:
    # A path inside the base (--output_base=<base>, a sandbox dir) or the base itself. Bases
    # are named by 32 hex digits, so no base's path is a prefix of another's.
    return any(name in cmdline for name in names)


def liveness(base: OutputBase, cmdlines: dict[int, str]) -> str:
    """'live': a process we can see uses it; 'unseen': its server pid file is left but names no
    visible Bazel server (crashed, or a server in another PID namespace); 'idle' otherwise."""
    names = spellings(base.path)
    if base.server_pid is not None and mentions(cmdlines.get(base.server_pid, ""), names):
        return "live"
    if any(mentions(cmdline, names) for cmdline in cmdlines.values()):
        return "live"
    return "unseen" if base.server_pid is not None else "idle"


class Prune:
    """An output base to delete, and why (words for the stderr line)."""

    def __init__(self, base: OutputBase, reason: str) -> None:
        self.base = base
        self.reason = reason


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f} days"


def plan(
    bases: Iterable[OutputBase],
    policy: Policy,
    now: float,
    cmdlines: Callable[[], dict[int, str]],
    size_of: Callable[[OutputBase], int],
    workspace_exists: Callable[[str], bool] = os.path.isdir,
) -> list[Prune]:
    """The bases to delete, in order. `bases` excludes the current workspace's. `cmdlines` is
    called only if some base is past its grace period; `size_of` only for the budget."""
    candidates = [b for b in bases if now - b.last_used >= policy.grace_seconds]
    if not candidates:
        return []
    processes = cmdlines()
    idle = []
    for base in candidates:
        state = liveness(base, processes)
        if state == "live" or (state == "unseen" and now - base.last_used < BAZEL_MAX_IDLE_SECONDS):
            continue
        idle.append(base)
    prunes = []
    kept = []
    for base in sorted(idle, key=lambda b: b.last_used):
        if not workspace_exists(base.workspace):
            prunes.append(Prune(base, f"its workspace {base.workspace} no longer exists"))
        elif now - base.last_used > policy.max_age_seconds:
            prunes.append(Prune(base, f"unused for {_days(now - base.last_used)}, limit {_days(policy.max_age_seconds)}"))
        else:
            kept.append(base)
    if policy.budget_bytes is not None and kept:
        sizes = {base.path: size_of(base) for base in kept}
        total = sum(sizes.values())
        for base in kept:  # least recently used first
            if total <= policy.budget_bytes:
                break
            prunes.append(Prune(base, f"idle output bases use {format_size(total)}, over the budget of "
                                      f"{format_size(policy.budget_bytes)}; least recently used"))
            total -= sizes[base.path]
    return prunes


class SizeCache:
    """Sizes of output bases (du), remembered per base and last-used time in a JSON file that
    is read only when a size is needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, list[float]] | None = None
        self.changed = False

    def _load(self) -> dict[str, list[float]]:
        if self.entries is None:
            import json

            try:
                self.entries = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self.entries = {}
        return self.entries

    def size_of(self, base: OutputBase) -> int:
        entries = self._load()
        cached = entries.get(base.path.name)
        if cached and cached[0] == base.last_used:
            return int(cached[1])
        size = disk_usage(base.path)
        entries[base.path.name] = [base.last_used, size]
        self.changed = True
        return size

    def save(self, existing: Iterable[str]) -> None:
        """Writes the cache back, forgetting bases that are gone, if anything changed."""
        if self.entries is None:
            return
        import json

        keep = set(existing)
        entries = {name: value for name, value in self.entries.items() if name in keep}
        if not self.changed and entries == self.entries:
            return
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}")
        tmp.write_text(json.dumps(entries, sort_keys=True))
        tmp.replace(self.path)


def disk_usage(path: Path) -> int:
    import subprocess

    done = subprocess.run(["du", "-skx", str(path)], capture_output=True, text=True)
    try:
        return int(done.stdout.split()[0]) * 1024
    except (IndexError, ValueError):
        return 0  # unreadable: counts as nothing rather than stopping the build


def remove_tree(path: Path) -> str | None:
    """Deletes a directory tree Bazel made partly read-only; returns an error or None."""
    import subprocess

    subprocess.run(["chmod", "-R", "u+w", str(path)], capture_output=True)
    done = subprocess.run(["rm", "-rf", "--one-file-system", str(path)], capture_output=True, text=True)
    if done.returncode != 0 or path.exists():
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "rm -rf failed"
    return None


def format_budget(size: int | None) -> str:
    """A size as a user would set it in RULES_PY_STANDALONE_PRUNE_BUDGET: '20G', '1536M', 'none'."""
    if size is None:
        return "none"
    for unit in ("T", "G", "M", "K"):
        if size and size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return str(size)


def policy_hint(policy: Policy) -> str:
    budget = format_budget(policy.budget_bytes)
    return (f"policy: {ENV_DAYS}={policy.max_age_seconds / 86400:g} {ENV_BUDGET}={budget} "
            f"{ENV_GRACE}={policy.grace_seconds / 60:g}, {ENV_OFF}=0 turns pruning off (docs/bazel-install.md)")


def delete_base(prune: Prune, root: Path, size: int, policy: Policy, cmdlines: Callable[[], dict[int, str]],
                err: TextIO) -> bool:
    """Moves the base aside, checks it was not taken into use meanwhile, then deletes it."""
    trash = root / TRASH_DIR
    trash.mkdir(exist_ok=True)
    moved = trash / f"{prune.base.path.name}.{time.time_ns()}"
    try:
        prune.base.path.rename(moved)
    except OSError as error:
        if error.errno != errno.ENOENT:  # ENOENT: already gone
            print(f"tools/bazel: could not prune output base {prune.base.path} ({prune.reason}): {error}; "
                  "it stays as it is", file=err)
        return False
    # A launcher stamps its base before Bazel starts, so a use that began before the move shows
    # here; one that begins after it finds no base and Bazel starts a fresh one.
    names = spellings(prune.base.path)
    if last_used(moved) != prune.base.last_used or any(mentions(c, names) for c in cmdlines().values()):
        try:
            moved.rename(prune.base.path)
            return False
        except OSError:
            pass  # Bazel already made a fresh base there; the moved one is no one's now
    error = remove_tree(moved)
    if error:
        print(f"tools/bazel: could not finish deleting output base {prune.base.path} ({prune.reason}): {error}. "
              f"Bazel will not use what is left ({moved}); the next run retries, or remove it with "
              f"chmod -R u+w {moved} && rm -rf {moved}", file=err)
        return False
    print(f"tools/bazel: pruned output base {prune.base.path} ({prune.reason}), freed {format_size(size)}; "
          f"{policy_hint(policy)}", file=err)
    return True


def empty_trash(root: Path, err: TextIO) -> None:
    """Finishes deletions an earlier run could not complete (we hold the lock: none is running)."""
    trash = root / TRASH_DIR
    if not trash.is_dir():
        return
    for leftover in sorted(trash.iterdir()):
        error = remove_tree(leftover)
        if error:
            print(f"tools/bazel: could not delete {leftover}, left from a pruned output base: {error}", file=err)


def stamp(base: Path) -> None:
    """Marks the current base as used now, before Bazel starts (only if it exists already)."""
    try:
        (base / STAMP_FILE).touch()
    except OSError:
        pass  # no base yet: Bazel creates it, and its server's pid file then marks it live


def prune(root: Path, workspace: str, policy: Policy, err: TextIO, now: float | None = None) -> list[Prune]:
    """Stamps the current workspace's base, then prunes the others; returns what was deleted."""
    current = root / base_name(workspace)
    stamp(current)
    if not root.is_dir():
        return []
    lock_fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []  # another launcher is pruning this root now
        (root / PRUNED_AT_FILE).write_text(f"{int(time.time())}\n")
        empty_trash(root, err)
        own = os.path.realpath(workspace)
        bases = [b for b in read_output_bases(root)
                 if b.path != current and os.path.realpath(b.workspace) != own]
        sizes = SizeCache(root / SIZES_FILE)
        now = time.time() if now is None else now
        done = []
        for item in plan(bases, policy, now, process_cmdlines, sizes.size_of):
            if delete_base(item, root, sizes.size_of(item.base), policy, process_cmdlines, err):
                done.append(item)
        sizes.save(b.path.name for b in bases if b.path.exists())
        return done
    finally:
        os.close(lock_fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-root", type=Path, required=True, help="the --output_user_root tools/bazel passes")
    parser.add_argument("--workspace", required=True, help="the workspace this command runs in (physical path)")
    args = parser.parse_args(argv)
    if os.environ.get(ENV_OFF) == "0":
        stamp(args.output_root / base_name(args.workspace))
        return 0
    try:
        prune(args.output_root, args.workspace, Policy.from_env(dict(os.environ)), sys.stderr)
    except (PolicyError, OSError) as error:
        print(f"tools/bazel: not pruning output bases: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
