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
  comes from the shared disk cache. When the test runs as root, the second build runs as
  another account (uid 65534, its own HOME and Bazel install), which cannot read root's caches: it gets
  the shared disk cache through an HTTP cache (nginx reading through to it, as in
  remote_cache_test) and a copy of the repository cache, and every action not forced to run must
  be a cache hit there (action keys do not depend on the user).
- `test_everything_is_reproducible_from_scratch` (`manual`, about 20 minutes on 2 cores): nothing
  cached, private disk and repository caches, the CPython distributions included, and the second
  build as another user (uid 65534) when the test runs as root.
- `test_stamp_reaches_only_the_link`: `--stamp` changes the binary and re-runs only the stamp,
  the link and the audit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.integration import http_cache, nested_bazel

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


# The account of the second build when the test runs as root.
OTHER_USER = 65534

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
    env = nested_bazel.clean_env()
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
        # The build's own options, so that info reads the same configuration and server.
        info = subprocess.run([cmd[0], *startup, "info", *extra, "bazel-bin"], cwd=checkout, env=env,
                              capture_output=True, text=True, timeout=300, preexec_fn=prepare)
        bin_dir = info.stdout.strip()
        assert info.returncode == 0 and bin_dir, \
            f"bazel info bazel-bin failed in {checkout} (exit {info.returncode}):\n{info.stderr[-3000:]}"
    finally:
        # Keep the output root for the comparison; only the server goes.
        subprocess.run([cmd[0], *startup, "shutdown"], cwd=checkout, env=env, capture_output=True, timeout=300,
                       preexec_fn=prepare)
    return checkout, output_root, Path(bin_dir)


def _cleanup(tmp: Path) -> None:
    for root in tmp.glob("output_root_*"):
        subprocess.run(["chmod", "-R", "u+w", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


def _compare(builds: list[tuple[Path, Path, Path]], subdirs: list[str], also: Sequence[Path] = ()) -> None:
    """Both builds' outputs are the same bytes and name neither build's directories (nor `also`:
    other accounts' homes, caches)."""
    (c1, r1, b1), (c2, r2, b2) = builds
    one, two = output_files(b1, subdirs), output_files(b2, subdirs)
    assert len(one) > 10, f"only {len(one)} output files under {b1}: the comparison would prove nothing"
    difference = first_difference(one, two)
    assert difference is None, "the two builds differ: " + difference
    found = leaks(one, [c1, r1, *also]) + leaks(two, [c2, r2, *also])
    assert not found, "outputs name a build directory: " + "; ".join(found[:10])


@contextlib.contextmanager
def _shared_tmp() -> Iterator[Path]:
    """A private, unpredictable directory that a second account can reach (the test's own tmp dir
    is under root's output base), readable by all, removed at the end."""
    tmp = Path(tempfile.mkdtemp(prefix="rps-reproducible-", dir=os.environ.get("RPS_REPRODUCIBLE_TMP", "/var/tmp")))
    tmp.chmod(0o755)
    try:
        yield tmp
    finally:
        _cleanup(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def _other_account(tmp: Path) -> tuple[Path, str]:
    """HOME and the Bazel launcher (the second checkout's tools/bazel, which installs Bazel into
    that HOME) of the second build's account."""
    home = tmp / "home_other_user"
    home.mkdir()
    return home, str(tmp / VARIANTS[1][0] / "tools/bazel")


def _check_forced_ran(log: Path, index: int) -> None:
    ran, cached = executed_mnemonics(log)
    assert MUST_RUN <= ran and not (MUST_RUN & cached), (
        f"build {index + 1}: actions that should have run again came from a cache "
        f"({sorted(MUST_RUN & cached)}) or did not run ({sorted(MUST_RUN - ran)}); "
        "--modify_execution_info no-cache no longer bypasses the disk cache?")


def not_from_cache(log: Path, forced: str) -> list[str]:
    """Spawns of the execution log that ran although their mnemonic is not `forced` (a regex):
    "mnemonic -> first output" of each."""
    pattern = re.compile(forced)
    return [f"{e.get('mnemonic', '')} -> {(e.get('listedOutputs') or [''])[0]}"
            for e in nested_bazel.spawns(log)
            if not pattern.match(e.get("mnemonic", "")) and "cache hit" not in e.get("runner", "")]


def _shared_caches() -> list[str]:
    cache = nested_bazel.shared_cache()
    return [f"--disk_cache={cache}/disk_cache", f"--repository_cache={cache}/repository_cache"]


def test_binaries_are_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = _repo_root()
    forced = f"--modify_execution_info={FORCED}=+no-cache"
    # Only root can start a build as another account.
    as_root = os.geteuid() == 0
    with _shared_tmp() if as_root else contextlib.nullcontext(tmp_path) as tmp:
        try:
            _check_reproducible_as(tmp, repo, forced, as_root)
        finally:
            _cleanup(tmp)
    if not as_root:
        with capsys.disabled():
            print("\nreproducible_test: both builds ran as the same user (as root, the second runs as uid 65534)")


def _check_reproducible_as(tmp: Path, repo: Path, forced: str, as_root: bool) -> None:
    """Two builds in tmp, the second as OTHER_USER when as_root; their outputs compared."""
    _copy_checkouts(repo, tmp)
    builds = [_build(tmp, 0, _shared_caches() + [forced], TARGETS)]
    _check_forced_ran(tmp / "output_root_0/execution_log.json", 0)
    also: list[Path] = []
    if as_root:
        home, bazel = _other_account(tmp)
        # The other account's caches: root's disk cache through nginx (which runs as root),
        # and a copy of the repository cache (downloads only).
        repository_cache = tmp / "repository_cache_other_user"
        shutil.copytree(nested_bazel.shared_cache() / "repository_cache", repository_cache, symlinks=True)
        subprocess.run(["chown", "-R", f"{OTHER_USER}:{OTHER_USER}", str(repository_cache)], check=True)
        with http_cache.nginx_cache(http_cache.nginx_binary(), tmp / "nginx",
                                    seed=nested_bazel.shared_cache() / "disk_cache") as url:
            builds.append(_build(tmp, 1, [f"--remote_cache={url}", "--disk_cache=",
                                          f"--repository_cache={repository_cache}", forced],
                                 TARGETS, user=OTHER_USER, home=home, bazel=bazel))
        log = tmp / "output_root_1/execution_log.json"
        ran = not_from_cache(log, FORCED)
        assert not ran, (f"as uid {OTHER_USER}, {len(ran)} actions missed the cache that root's build filled "
                         "(their keys depend on the user?): " + "; ".join(ran[:10]))
        also = [home, repository_cache]
    else:
        builds.append(_build(tmp, 1, _shared_caches() + [forced], TARGETS))
    _check_forced_ran(tmp / "output_root_1/execution_log.json", 1)
    _compare(builds, COMPARED, also)


@pytest.mark.skipif(os.environ.get("RPS_REPRODUCIBLE_FROM_SCRATCH") != "1",
                    reason="manual (about 20 minutes on 2 cores): builds CPython twice without caches; see docs/releases.md")
def test_everything_is_reproducible_from_scratch() -> None:
    repo = _repo_root()
    with _shared_tmp() as tmp:
        builds = []
        _copy_checkouts(repo, tmp)
        for index in range(2):
            caches = tmp / f"caches_{index}"
            caches.mkdir()
            extra = [f"--disk_cache={caches}/disk_cache", f"--repository_cache={caches}/repository_cache"]
            user = home = bazel = None
            if index == 1 and os.geteuid() == 0:
                # The second build as another account, with its own Bazel install and HOME.
                user = OTHER_USER
                home, bazel = _other_account(tmp)
                subprocess.run(["chown", "-R", f"{user}:{user}", str(caches)], check=True)
            builds.append(_build(tmp, index, extra, TARGETS + [DISTRIBUTION], user=user, home=home, bazel=bazel))
        _compare(builds, COMPARED, [tmp / "home_other_user"])
        if os.geteuid() != 0:
            pytest.skip("compared, but both builds ran as the same user: a second account needs root")


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


def test_not_from_cache_names_spawns_that_ran(tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    log.write_text(json.dumps({"mnemonic": "RpsSourceBuild", "runner": "remote cache hit", "listedOutputs": ["a"]})
                   + "\n" + json.dumps({"mnemonic": "PyStandalonePack", "runner": "linux-sandbox",
                                        "listedOutputs": ["b"]})
                   + json.dumps({"mnemonic": "Genrule", "runner": "linux-sandbox", "listedOutputs": ["c", "d"]}))
    assert not_from_cache(log, FORCED) == ["Genrule -> c"]


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
    env = nested_bazel.clean_env()
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
