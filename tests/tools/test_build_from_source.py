"""Unit tests of tools/build_from_source/build_from_source.py."""

import importlib.util
import io
import json
import marshal
import os
import py_compile
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

from tools.build_from_source import build_from_source as bfs


def make_archive(path: Path, files: dict[str, bytes], top: str = "pkg-1.0") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            info.mode = 0o755
            info.uid = 1000
            tar.addfile(info, io.BytesIO(data))
    return path


def recipe(archive: Path, steps: list[str], outputs: dict[str, str]) -> dict:
    return {"name": "pkg", "archive": str(archive), "host": "x86_64-linux-gnu", "libc": "gnu",
            "cc": "/bin/true", "ar": "/bin/true", "ranlib": "/bin/true", "ld": "/bin/true",
            "steps": steps, "outputs": outputs}


def test_expand_rejects_unknown_placeholders() -> None:
    assert bfs.expand("{prefix}/lib", {"prefix": "/p"}) == "/p/lib"
    with pytest.raises(bfs.RecipeError, match=r"unknown placeholder \{dep:nope\}"):
        bfs.expand("-I{dep:nope}/include", {"prefix": "/p"})


def test_build_runs_steps_in_the_tree_and_copies_outputs(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "pkg.tar.gz", {"configure": b"#!/bin/sh\necho configured > made.txt\n"})
    steps = ["./configure", "mkdir -p {prefix}/lib && cp made.txt {prefix}/lib/", "echo {cpu}-{libc} > {prefix}/triple"]
    bfs.build(recipe(archive, steps, {"lib": "{prefix}/lib", "triple": "{prefix}/triple"}), tmp_path / "work", tmp_path / "out")
    assert (tmp_path / "out/lib/made.txt").read_text() == "configured\n"
    assert (tmp_path / "out/triple").read_text() == "x86_64-gnu\n"


def test_failing_step_names_the_command_and_shows_its_output(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "pkg.tar.gz", {"README": b"x"})
    with pytest.raises(bfs.RecipeError) as err:
        bfs.build(recipe(archive, ["echo the reason >&2; exit 3"], {}), tmp_path / "work", tmp_path / "out")
    assert "step failed (exit 3)" in str(err.value) and "the reason" in str(err.value)


def test_missing_output_is_an_error(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "pkg.tar.gz", {"README": b"x"})
    with pytest.raises(bfs.RecipeError, match="declared output .* does not exist"):
        bfs.build(recipe(archive, ["true"], {"lib": "{prefix}/lib"}), tmp_path / "work", tmp_path / "out")


def test_archives_escaping_the_tree_are_refused(tmp_path: Path) -> None:
    archive = make_archive(tmp_path / "evil.tar.gz", {"../escape": b"x"}, top="")
    with pytest.raises(bfs.RecipeError, match="unsafe member path"):
        bfs.unpack(archive, tmp_path / "dest")


def test_main_reports_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "recipe.json"
    bad.write_text("{}")
    assert bfs.main(["--recipe", str(bad), "--out", str(tmp_path / "o"), "--work", str(tmp_path / "w")]) == 1
    err = capsys.readouterr().err
    assert "bad recipe" in err and "Traceback" not in err


def test_build_paths_are_mapped_in_text_outputs_and_a_leak_elsewhere_fails(tmp_path: Path) -> None:
    work, out = tmp_path / "work-abc123", tmp_path / "out"
    (out / "lib").mkdir(parents=True)
    text = out / "lib/Makefile"
    text.write_text(f"LIBPL={work}/src/lib\nCC={work}/bin/cc\n")
    os.utime(text, (315532800, 315532800))
    bfs.map_build_paths(out, work, "/rps-build/pkg", None, {})
    assert text.read_text() == "LIBPL=/rps-build/pkg/src/lib\nCC=/rps-build/pkg/bin/cc\n"
    assert text.stat().st_mtime == 315532800
    (out / "lib/libx.a").write_bytes(b"!<arch>\n\0\0" + str(work).encode() + b"/src/x.c\0")
    with pytest.raises(bfs.RecipeError, match=r"output lib/libx.a holds the build directory's name at offset 10"):
        bfs.map_build_paths(out, work, "/rps-build/pkg", None, {})


def test_pycs_of_mapped_sources_are_recompiled_as_make_install_made_them(tmp_path: Path) -> None:
    work, out = tmp_path / "work-abc123", tmp_path / "out"
    lib = out / "lib/python"
    lib.mkdir(parents=True)
    source = lib / "_sysconfigdata.py"
    source.write_text(f"build_time_vars = {{'LIBDIR': '{work}/deps/zlib/lib'}}\n")
    pycs = []
    for level in (0, 1, 2):
        pycs.append(Path(py_compile.compile(str(source), dfile="/install/lib/python/_sysconfigdata.py", optimize=level,
                                            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)))
    with pytest.raises(bfs.RecipeError, match="names no pyc_python"):
        bfs.map_build_paths(out, work, "/rps-build/pkg", None, {})
    bfs.map_build_paths(out, work, "/rps-build/pkg", sys.executable, {})
    for pyc in pycs:
        data = pyc.read_bytes()
        assert str(work).encode() not in data and b"/rps-build/pkg/deps/zlib/lib" in data
        assert int.from_bytes(data[4:8], "little") == 3  # still checked-hash
        assert marshal.loads(data[16:]).co_filename == "/install/lib/python/_sysconfigdata.py"
    assert importlib.util.source_hash(source.read_bytes()) == pycs[0].read_bytes()[8:16]
    assert {p.name.split(".")[-2] for p in pycs} == {"cpython-%d%d" % sys.version_info[:2], "opt-1", "opt-2"}


def _tiny_recipe(tmp_path: Path) -> Path:
    archive = make_archive(tmp_path / "pkg.tar.gz", {"configure": b"#!/bin/sh\necho \"built in $PWD\" > where.txt\n"})
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe(archive, ["./configure", "mkdir -p {prefix} && cp where.txt {prefix}/"],
                                      {"where.txt": "{prefix}/where.txt"})))
    return path


@pytest.mark.parametrize("hostile", ["file", "open_directory", "symlink"])
def test_a_precreated_shared_build_path_is_neither_used_nor_in_the_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        hostile: str) -> None:
    shared_tmp = tmp_path / "tmp"
    shared_tmp.mkdir()
    trap = tmp_path / "trap"
    trap.mkdir()
    planted = shared_tmp / "rps-build"  # the path earlier versions built in, made first by another account
    if hostile == "file":
        planted.write_text("not a directory")
    elif hostile == "open_directory":
        planted.mkdir(mode=0o777)
    else:
        planted.symlink_to(trap)
    monkeypatch.setenv("TMPDIR", str(shared_tmp))
    made: list[Path] = []
    real_build = bfs.build

    def spy(recipe: dict, work: Path, out: Path) -> None:
        made.append(work)
        assert stat.S_IMODE(work.stat().st_mode) == 0o700 and work.stat().st_uid == os.getuid()
        real_build(recipe, work, out)

    monkeypatch.setattr(bfs, "build", spy)
    assert bfs.main(["--recipe", str(_tiny_recipe(tmp_path)), "--out", str(tmp_path / "out")]) == 0
    assert made[0].parent == shared_tmp and not made[0].exists()  # private, fresh, removed
    assert (tmp_path / "out/where.txt").read_text() == "built in /rps-build/pkg/src/pkg-1.0\n"
    assert list(trap.iterdir()) == [] and (not planted.is_dir() or planted.is_symlink() or not any(planted.iterdir()))


def test_two_users_build_in_one_shared_tmp(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("switching to a second user account needs root")
    # The test's own interpreter may live in root's home; the system one is everybody's.
    python = "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        pytest.skip(f"{python} (an interpreter every account can run) is missing")
    # A world-writable sticky directory like /tmp, reachable by both accounts.
    shared = Path(tempfile.mkdtemp(prefix="rps-two-users-", dir="/tmp"))
    try:
        os.chmod(shared, 0o755)
        (shared / "tmp").mkdir(mode=0o1777)
        os.chmod(shared / "tmp", 0o1777)
        tool = shared / "build_from_source.py"
        shutil.copy(bfs.__file__, tool)
        recipe_path = _tiny_recipe(shared)
        for path in shared.iterdir():
            path.chmod(0o1777 if path.name == "tmp" else 0o755)
        outputs = []
        for uid in (0, 65534):
            out = shared / f"out-{uid}"
            out.mkdir()
            os.chown(out, uid, uid)
            try:
                result = subprocess.run([python, "-I", str(tool), "--recipe", str(recipe_path), "--out", str(out)],
                                        env={"TMPDIR": str(shared / "tmp"), "PATH": os.environ["PATH"]},
                                        user=uid, group=uid, extra_groups=[], capture_output=True, text=True)
            except PermissionError as err:
                pytest.skip(f"cannot switch to uid {uid} here: {err}")
            assert result.returncode == 0, result.stderr
            outputs.append((out / "where.txt").read_bytes())
        assert outputs[0] == outputs[1] == b"built in /rps-build/pkg/src/pkg-1.0\n"
        assert list((shared / "tmp").iterdir()) == []
    finally:
        shutil.rmtree(shared)


def test_pycs_of_a_source_rewritten_only_in_a_comment_are_recompiled(tmp_path: Path) -> None:
    work, out = tmp_path / "work-abc123", tmp_path / "out"
    (out / "lib").mkdir(parents=True)
    source = out / "lib/mod.py"
    source.write_text(f"# configured in {work}\nVALUE = 1\n")
    pyc = Path(py_compile.compile(str(source), invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH))
    assert str(work).encode() not in pyc.read_bytes()  # comments are not compiled
    bfs.map_build_paths(out, work, "/rps-build/pkg", sys.executable, {})
    assert importlib.util.source_hash(source.read_bytes()) == pyc.read_bytes()[8:16]


def test_cleanup_leaves_the_dependencies_modes_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dependency = tmp_path / "dep-output"
    (dependency / "lib").mkdir(parents=True)
    dependency.chmod(0o555)
    archive = make_archive(tmp_path / "pkg.tar.gz", {"README": b"x"})
    spec = recipe(archive, ["mkdir -p {prefix} && ls {dep:dep}/lib > {prefix}/seen"], {"seen": "{prefix}/seen"})
    spec["deps"] = {"dep": str(dependency)}
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(spec))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert bfs.main(["--recipe", str(path), "--out", str(tmp_path / "out")]) == 0
    assert stat.S_IMODE(dependency.stat().st_mode) == 0o555
    dependency.chmod(0o755)
