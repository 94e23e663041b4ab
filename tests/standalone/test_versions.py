"""What every CPython version built here must do in a binary (one test target per version,
tests/standalone/BUILD.bazel): print what the same distribution's python prints, use the
version's default multiprocessing start method, report tracebacks with the module's file and
line, tear down fast without losing data, run the Python command line, and import from memory
from the first import on (no Python file read, nothing written)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.standalone import test_standalone as standalone

VERSION = os.environ["PYTHON_VERSION"]


def _binary(variable: str) -> str:
    return os.path.abspath(os.environ[variable])


def _python() -> str:
    root = Path(os.environ["DISTRIBUTION"])
    info = json.loads((root / "PYTHON.json").read_text())
    return str(root / info["python_exe"])


def _run(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=300, **kwargs)


@pytest.mark.parametrize("binary, script", [("HELLO", "HELLO_PY"), ("VERSION_TOUR", "VERSION_TOUR_PY")])
def test_output_is_the_distributions_python_output(binary, script):
    # -E -s rather than -I: the script's directory stays on sys.path (version_tour_3_14.py).
    want = _run(_python(), "-E", "-s", os.path.abspath(os.environ[script]))
    assert want.returncode == 0, want.stderr
    got = _run(_binary(binary))
    assert (got.returncode, got.stdout, got.stderr) == (0, want.stdout, "")


def test_version_and_default_start_method():
    lines = _run(_binary("VERSION_TOUR")).stdout.splitlines()
    assert lines[0] == f"version: {VERSION}"
    major_minor = tuple(int(p) for p in VERSION.split("."))
    assert lines[1] == "default start method: " + ("forkserver" if major_minor >= (3, 14) else "fork")
    if major_minor >= (3, 14):
        assert "zstd: True True True" in lines and "zstd multi-threaded: True" in lines


def test_uncaught_exception_names_source_file_and_line():
    result = _run(_binary("BEHAVIOURS"), "raise")
    binary = os.path.realpath(_binary("BEHAVIOURS"))
    assert result.returncode == 1
    assert f'File "{binary}/behaviours.py", line 11, in fail_here' in result.stderr
    assert result.stderr.endswith("ValueError: boom\n")


def test_fast_teardown_keeps_data(tmp_path):
    assert _run(_binary("BEHAVIOURS"), "finalizer-in-cycle").stdout == ""  # the fast teardown
    out = _run(_binary("BEHAVIOURS"), "teardown", str(tmp_path / "f"))
    assert (out.returncode, out.stdout, out.stderr) == (0, "no newline", "")
    assert len(list(tmp_path.iterdir())) == 5


def test_python_command_line():
    out = _run(_binary("PYTHON_CLI"), "-c", "import sys; print('%d.%d' % sys.version_info[:2])")
    assert (out.returncode, out.stdout) == (0, VERSION + "\n"), out.stderr


@pytest.mark.parametrize("variable", ["HELLO", "VERSION_TOUR"])
def test_first_import_from_memory(tmp_path, variable):
    binary = tmp_path / "app"
    shutil.copy(_binary(variable), binary)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    lines = standalone._strace(binary, cwd)
    assert any('readlink("/proc/self/exe"' in line for line in lines)
    violations = standalone._violations(lines, os.path.realpath(os.environ["DISTRIBUTION"]))
    assert violations == [], "\n".join(violations)
