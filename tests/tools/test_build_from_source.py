"""Unit tests of tools/build_from_source/build_from_source.py."""

import io
import tarfile
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
    steps = ["./configure", "mkdir -p {prefix}/lib && cp made.txt {prefix}/lib/", "echo {target_triple} > {prefix}/triple"]
    bfs.build(recipe(archive, steps, {"lib": "{prefix}/lib", "triple": "{prefix}/triple"}), tmp_path / "work", tmp_path / "out")
    assert (tmp_path / "out/lib/made.txt").read_text() == "configured\n"
    assert (tmp_path / "out/triple").read_text() == "x86_64-unknown-linux-gnu\n"


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
