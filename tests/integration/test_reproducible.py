"""Two builds of the same sources give the same bytes (docs/releases.md).

Each build runs in its own copy of this checkout (different directories, at different depths),
with its own output root, time zone, umask, locale and PYTHONHASHSEED, one after the other (two
at once on a small machine only slow each other down). Then the sha256 of every output file is
compared; a difference names the first differing file and the offset of its first differing
byte, and no output may hold either checkout's or output base's path.

- `test_binaries_are_reproducible` (CI): the actions of each standalone binary (compile, pack,
  emit, link plan, the runtime's C compiles, the link, the audit) and the distribution's compiled
  stdlib are forced to run again in both builds (`--modify_execution_info=...=+no-cache`, which
  also bypasses the disk cache; the execution log proves they ran); the CPython build itself
  comes from the shared disk cache.
- `test_everything_is_reproducible_from_scratch` (`manual`, about an hour on 2 cores): nothing
  cached, private disk and repository caches, the CPython distributions included, and the second
  build as another user (uid 65534) when the test runs as root.
- `test_stamp_reaches_only_the_link`: `--stamp` changes the binary and re-runs only the stamp,
  the link and the audit.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.integration import nested_bazel

# The examples, and a program with PyPI wheels' C extensions (markupsafe, PyYAML's libyaml).
TARGETS = ["//examples/hello", "//examples/resources:resources_example", "//examples/stdlib_tour",
           "//tests/pypi:yaml_markup"]
COMPARED = ["examples", "tests/pypi", "toolchains/cpython"]
DISTRIBUTION = "//toolchains/cpython:cpython_3_13_build"

# The per-binary actions and the per-distribution stdlib compiles: what a change of the rules or
# the tools can make irreproducible, and cheap enough to run twice in CI.
FORCED = r"^(PyStandalone.*|CppCompile|CppLink)$"
# Mnemonics the execution log must show as executed (not cache hits) in both builds.
MUST_RUN = {"PyStandaloneCompile", "PyStandaloneCompileStdlib", "PyStandalonePack", "PyStandaloneEmit",
            "PyStandaloneLinkPlan", "CppCompile", "CppLink", "PyStandaloneAudit"}

# Bazel's own bookkeeping beside the outputs: runfiles manifests name absolute paths by design
# and are not part of a release.
_SKIPPED_SUFFIXES = (".runfiles_manifest",)

_PASSED_ENV = nested_bazel.PASSED_ENV

# (directory of the checkout under the test's tmp dir, TZ, LANG, umask, PYTHONHASHSEED)
VARIANTS = [
    ("one/src", "UTC", "C", 0o022, "0"),
    ("two/a/much/longer/path/checkout-2", "Pacific/Kiritimati", "C.UTF-8", 0o077, "4242"),
]


_repo_root = nested_bazel.repo_root
_bazel = nested_bazel.bazel


copy_checkout = nested_bazel.copy_checkout


def output_files(root: Path, subdirs: list[str]) -> dict[str, Path]:
    """Relative path -> file, for every regular file under root/<subdir> (links followed)."""
    found = {}
    for sub in subdirs:
        base = root / sub
        for dirpath, dirnames, filenames in os.walk(base, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if not d.endswith(".runfiles"))
            for name in sorted(filenames):
                if name.endswith(_SKIPPED_SUFFIXES):
                    continue
                path = Path(dirpath, name)
                if path.is_file():
                    found[str(path.relative_to(root))] = path
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def first_difference(one: dict[str, Path], two: dict[str, Path]) -> str | None:
    """None when both sets of files are the same bytes; else what differs first (sorted by path):
    a file only one build has, or the first differing file, its two sha256 and the offset of
    its first differing byte."""
    only = sorted(set(one) ^ set(two))
    if only:
        which = "first" if only[0] in one else "second"
        return f"{only[0]} exists only in the {which} build ({len(only)} such files)"
    for rel in sorted(one):
        a, b = one[rel], two[rel]
        ha, hb = _sha256(a), _sha256(b)
        if ha == hb:
            continue
        da, db = a.read_bytes(), b.read_bytes()
        offset = next((i for i, (x, y) in enumerate(zip(da, db)) if x != y), min(len(da), len(db)))
        return (f"{rel} differs: sha256 {ha} ({len(da)} bytes) vs {hb} ({len(db)} bytes), first at offset "
                f"{offset} (0x{offset:x}): {da[offset:offset + 16]!r} vs {db[offset:offset + 16]!r}"
                + _diffoscope_hint(a, b))
    return None


def _diffoscope_hint(a: Path, b: Path) -> str:
    tool = shutil.which("diffoscope")
    if not tool:
        return "; for a structural report: diffoscope FILE1 FILE2"
    done = subprocess.run([tool, "--text", "-", str(a), str(b)], capture_output=True, text=True, timeout=600)
    return "\n" + done.stdout[:6000]


def leaks(files: dict[str, Path], paths: list[Path]) -> list[str]:
    """Output files that contain one of `paths` (the checkouts, the output roots)."""
    needles = [str(p).encode() for p in paths]
    found = []
    for rel, path in sorted(files.items()):
        data = path.read_bytes()
        for needle in needles:
            at = data.find(needle)
            if at >= 0:
                found.append(f"{rel} holds {needle.decode()} at offset {at}")
                break
    return found


def executed_mnemonics(log: Path) -> tuple[set[str], set[str]]:
    """From Bazel's JSON execution log: (mnemonics of spawns that ran, of spawns taken from a cache)."""
    ran, cached = set(), set()
    for entry in nested_bazel.spawns(log):
        mnemonic = entry.get("mnemonic", "")
        if entry.get("remoteCacheHit") or entry.get("cacheHit") or "cache hit" in entry.get("runner", ""):
            cached.add(mnemonic)
        else:
            ran.add(mnemonic)
    return ran, cached


def _copy_checkouts(repo: Path, tmp: Path) -> None:
    # Both at once, before either build: the sources cannot change in between.
    for variant in VARIANTS:
        copy_checkout(repo, tmp / variant[0])


def action_keys(log: Path) -> dict[str, tuple[str, str]]:
    """From Bazel's JSON execution log: first output -> (mnemonic, action digest) of each spawn."""
    keys = {}
    for entry in nested_bazel.spawns(log):
        outputs = entry.get("listedOutputs") or [""]
        keys[outputs[0]] = (entry.get("mnemonic", ""), (entry.get("digest") or {}).get("hash", ""))
    return keys


def _build(tmp: Path, index: int, extra: list[str], targets: list[str],
           user: int | None = None, home: Path | None = None, bazel: str | None = None) -> tuple[Path, Path, Path]:
    rel, tz, lang, umask, seed = VARIANTS[index]
    checkout = tmp / rel
    output_root = tmp / f"output_root_{index}"
    output_root.mkdir()
    log = output_root / "execution_log.json"
    env = {k: v for k, v in os.environ.items() if k in _PASSED_ENV}
    env.update(TZ=tz, LANG=lang, LC_ALL=lang, PYTHONHASHSEED=seed)
    if home is not None:
        env.update(HOME=str(home), USER="nobody")
    startup = [f"--output_user_root={output_root}", "--max_idle_secs=60"]
    cmd = [bazel or _bazel(), *startup, "build", "--remote_download_outputs=all",
           f"--execution_log_json_file={log}", *extra, *targets]

    def prepare() -> None:
        os.umask(umask)
        if user is not None:
            os.setgid(user)
            os.setgroups([])
            os.setuid(user)

    if user is not None:
        for path in (checkout, home, output_root):
            subprocess.run(["chown", "-R", f"{user}:{user}", str(path)], check=True)
    try:
        done = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True, text=True, timeout=7200,
                              preexec_fn=prepare)
        assert done.returncode == 0, f"build {index + 1} in {checkout} failed:\n{done.stderr[-6000:]}"
        bin_dir = subprocess.run([cmd[0], *startup, "info", "bazel-bin"], cwd=checkout, env=env, capture_output=True,
                                 text=True, timeout=300, preexec_fn=prepare).stdout.strip()
    finally:
        # Keep the output root for the comparison; only the server goes.
        subprocess.run([cmd[0], *startup, "shutdown"], cwd=checkout, env=env, capture_output=True, timeout=300,
                       preexec_fn=prepare)
    assert bin_dir, f"bazel info bazel-bin gave nothing in {checkout}"
    return checkout, output_root, Path(bin_dir)


def _cleanup(tmp: Path) -> None:
    for root in tmp.glob("output_root_*"):
        subprocess.run(["chmod", "-R", "u+w", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def _compare(builds: list[tuple[Path, Path, Path]], subdirs: list[str]) -> None:
    (c1, r1, b1), (c2, r2, b2) = builds
    one, two = output_files(b1, subdirs), output_files(b2, subdirs)
    assert len(one) > 10, f"only {len(one)} output files under {b1}: the comparison would prove nothing"
    difference = first_difference(one, two)
    assert difference is None, "the two builds differ: " + difference
    found = leaks(one, [c1, r1]) + leaks(two, [c2, r2])
    assert not found, "outputs name a build directory: " + "; ".join(found[:10])


def _shared_caches() -> list[str]:
    cache = nested_bazel.shared_cache()
    return [f"--disk_cache={cache}/disk_cache", f"--repository_cache={cache}/repository_cache"]


def test_binaries_are_reproducible(tmp_path: Path) -> None:
    repo = _repo_root()
    forced = _shared_caches() + [f"--modify_execution_info={FORCED}=+no-cache"]
    builds = []
    _copy_checkouts(repo, tmp_path)
    try:
        for index in range(2):
            builds.append(_build(tmp_path, index, forced, TARGETS))
            ran, cached = executed_mnemonics(tmp_path / f"output_root_{index}/execution_log.json")
            assert MUST_RUN <= ran and not (MUST_RUN & cached), (
                f"build {index + 1}: actions that should have run again came from a cache "
                f"({sorted(MUST_RUN & cached)}) or did not run ({sorted(MUST_RUN - ran)}); "
                "--modify_execution_info no-cache no longer bypasses the disk cache?")
        _compare(builds, COMPARED)
    finally:
        _cleanup(tmp_path)


@pytest.mark.skipif(os.environ.get("RPS_REPRODUCIBLE_FROM_SCRATCH") != "1",
                    reason="manual (about an hour): builds CPython twice without caches; see docs/releases.md")
def test_everything_is_reproducible_from_scratch() -> None:
    repo = _repo_root()
    # Not under the test's own tmp dir: a second account must reach it (a private, unpredictable
    # directory, readable by all, removed at the end).
    tmp_path = Path(tempfile.mkdtemp(prefix="rps-reproducible-", dir=os.environ.get("RPS_REPRODUCIBLE_TMP", "/var/tmp")))
    tmp_path.chmod(0o755)
    builds = []
    _copy_checkouts(repo, tmp_path)
    try:
        for index in range(2):
            caches = tmp_path / f"caches_{index}"
            caches.mkdir()
            extra = [f"--disk_cache={caches}/disk_cache", f"--repository_cache={caches}/repository_cache"]
            user = home = bazel = None
            if index == 1 and os.geteuid() == 0:
                # The second build as another account, with its own Bazel install and HOME.
                user, home = 65534, tmp_path / "home_nobody"
                home.mkdir()
                bazel = str(tmp_path / VARIANTS[1][0] / "tools/bazel")
                subprocess.run(["chown", "-R", f"{user}:{user}", str(caches)], check=True)
            builds.append(_build(tmp_path, index, extra, TARGETS + [DISTRIBUTION], user=user, home=home,
                                 bazel=bazel))
        _compare(builds, COMPARED)
        if os.geteuid() != 0:
            pytest.skip("compared, but both builds ran as the same user: a second account needs root")
    finally:
        _cleanup(tmp_path)
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_first_difference_names_file_and_offset(tmp_path: Path) -> None:
    for side, data in (("a", b"same\0bytes-X-tail"), ("b", b"same\0bytes-Y-tail")):
        (tmp_path / side / "pkg").mkdir(parents=True)
        (tmp_path / side / "pkg/bin").write_bytes(data)
        (tmp_path / side / "pkg/equal.txt").write_text("equal")
        (tmp_path / side / "pkg/x.runfiles_manifest").write_text(f"/abs/{side}")
    one, two = output_files(tmp_path / "a", ["pkg"]), output_files(tmp_path / "b", ["pkg"])
    assert sorted(one) == ["pkg/bin", "pkg/equal.txt"]
    message = first_difference(one, two)
    assert message is not None and message.startswith("pkg/bin differs: sha256 ")
    assert "first at offset 11 (0xb): b'X-tail' vs b'Y-tail'" in message
    (tmp_path / "b/pkg/extra").write_text("")
    assert first_difference(one, output_files(tmp_path / "b", ["pkg"])).startswith("pkg/extra exists only in the second build")
    assert first_difference(one, output_files(tmp_path / "a", ["pkg"])) is None
    assert leaks(one, [tmp_path / "a"]) == []
    (tmp_path / "a/pkg/equal.txt").write_text(f"built in {tmp_path / 'a'}/x")
    assert leaks(one, [tmp_path / "a"]) == [f"pkg/equal.txt holds {tmp_path / 'a'} at offset 9"]


STATUS_SCRIPT = "#!/bin/sh\necho STABLE_RELEASE_VERSION 1.2.3\necho STABLE_GIT_COMMIT 0123abcd\n"


def test_stamp_reaches_only_the_link(tmp_path: Path) -> None:
    """--stamp puts the STABLE_* status keys and the embed label into the binary; the actions
    before the link keep their cache keys (the execution log shows only the stamp, the link and
    the audit running), and the binary does not change when nothing stamped does."""
    repo = _repo_root()
    checkout = tmp_path / "src"
    copy_checkout(repo, checkout)
    status = tmp_path / "status.sh"
    status.write_text(STATUS_SCRIPT)
    status.chmod(0o755)
    startup = [f"--output_user_root={tmp_path / 'output_root'}", "--max_idle_secs=60"]
    env = {k: v for k, v in os.environ.items() if k in _PASSED_ENV}
    target = "//tests/integration/stamped"

    def build(name: str, *flags: str) -> tuple[bytes, str, set[str]]:
        log = tmp_path / f"{name}.json"
        # All outputs local: the link of the stamped build then needs nothing fetched afresh.
        done = subprocess.run([_bazel(), *startup, "build", *_shared_caches(), "--remote_download_outputs=all",
                               f"--execution_log_json_file={log}",
                               *flags, target], cwd=checkout, env=env, capture_output=True, text=True, timeout=3000)
        assert done.returncode == 0, f"{name} build failed:\n{done.stderr[-6000:]}"
        binary = checkout / "bazel-bin/tests/integration/stamped/stamped"
        run = subprocess.run([binary], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        return binary.read_bytes(), run.stdout, action_keys(log)

    try:
        plain, out, plain_keys = build("plain")
        assert out == ""
        stamped, out, keys = build("stamped", "--stamp", f"--workspace_status_command={status}", "--embed_label=v1.2.3")
        assert out == "BUILD_EMBED_LABEL=v1.2.3\nSTABLE_GIT_COMMIT=0123abcd\nSTABLE_RELEASE_VERSION=1.2.3\n"
        # Spawns logged again (a compile re-checked after a cache hit) count only if their key changed.
        ran = {mnemonic for output, (mnemonic, key) in keys.items() if plain_keys.get(output, (None, None))[1] != key}
        assert ran == {"PyStandaloneStamp", "CppLink", "PyStandaloneAudit"}, (
            f"--stamp changed the cache keys of more than the stamp and the link: {sorted(ran)}")
        # BUILD_USER, BUILD_HOST and the volatile BUILD_TIMESTAMP change between builds; none is stamped.
        again, out, keys = build("again", "--stamp", f"--workspace_status_command={status}", "--embed_label=v1.2.3",
                                "--modify_execution_info=^PyStandaloneStamp$=+no-cache")
        assert again == stamped and any(m == "PyStandaloneStamp" for m, _ in keys.values())
        assert plain != stamped
    finally:
        subprocess.run([_bazel(), *startup, "shutdown"], cwd=checkout, env=env, capture_output=True, timeout=300)
        subprocess.run(["chmod", "-R", "u+w", str(tmp_path / "output_root")], check=False)
        shutil.rmtree(tmp_path / "output_root", ignore_errors=True)
