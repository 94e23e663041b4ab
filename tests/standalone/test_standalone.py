"""Standalone binaries behave like `python -m main`, touch no Python files and refuse damage."""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import zlib
from pathlib import Path

import pytest

from tests import rlocation
from tests.tools import damaged_blobs
from tools.formats import resources

HELLO_OUTPUT = "Hello from Python 3.13!\n"
# ELF DT_NEEDED libraries a glibc binary may load (the audit policy's allowlist).
SYSTEM_LIBRARIES = re.compile(r"/(libc|libm|libpthread|libdl|librt|libutil)\.so\.\d+$|/ld-linux[-\w.]*\.so\.\d+$")


def _binary(variable: str) -> str:
    return os.path.abspath(os.environ[variable])


def _run(variable_or_path, *args, input=None, env=None, cwd=None):
    path = _binary(variable_or_path) if variable_or_path.isupper() else variable_or_path
    return subprocess.run([path, *args], capture_output=True, text=True, input=input, env=env, cwd=cwd, timeout=120)


def test_hello():
    result = _run("HELLO")
    assert (result.returncode, result.stdout, result.stderr) == (0, HELLO_OUTPUT, "")


def test_second_python_version():
    result = _run("HELLO_3_11")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Hello from Python 3.11!\n", "")


def test_isolated_interpreter_and_virtual_paths():
    result = _run("BEHAVIOURS", "describe", "--option", "-c", env={"PYTHONPATH": "/nowhere", "PATH": "/usr/bin:/bin"})
    info = json.loads(result.stdout)
    exe = _binary("BEHAVIOURS")
    assert info["argv"] == ["describe", "--option", "-c"]  # the program's own options stay its own
    assert info["executable"] == os.path.realpath(exe)
    assert info["isolated"] == 1 and info["utf8_mode"] == 1 and info["dont_write_bytecode"]
    assert info["path"] == [info["executable"]]  # no current directory, no PYTHONPATH
    assert info["name"] == "__main__" and info["spec"] == "behaviours"
    assert info["file"] == info["executable"] + "/behaviours.py"
    assert info["json_file"] == info["executable"] + "/json/__init__.py"


def test_not_isolated_reads_pythonpath():
    result = _run("BEHAVIOURS_NOT_ISOLATED", "env", env={"PYTHONPATH": "/nowhere", "PATH": "/usr/bin:/bin"})
    assert result.stdout == "/nowhere 0\n"


def test_mimalloc_starts_on_first_use_and_reads_its_options():
    """mimalloc's process load runs on its first allocation, not in a constructor
    (tools/source_edits): PYTHONMALLOC=mimalloc still gets its MIMALLOC_* options and exit hook."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONMALLOC": "mimalloc", "MIMALLOC_SHOW_STATS": "1"}
    result = _run("BEHAVIOURS_NOT_ISOLATED", "env", env=env)
    assert result.returncode == 0 and result.stdout == "None 0\n"
    assert result.stderr.startswith("heap stats:"), result.stderr
    # Without PYTHONMALLOC=mimalloc, mimalloc never starts: no options read, no exit report.
    result = _run("BEHAVIOURS_NOT_ISOLATED", "env", env={"PATH": "/usr/bin:/bin", "MIMALLOC_VERBOSE": "1"})
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("code", [0, 3, 255])
def test_exit_codes(code):
    assert _run("BEHAVIOURS", "exit", str(code)).returncode == code


def test_exit_with_message():
    result = _run("BEHAVIOURS", "exit-message")
    assert (result.returncode, result.stderr) == (1, "fatal: a message\n")


def test_uncaught_exception_names_source_file_and_line():
    result = _run("BEHAVIOURS", "raise")
    assert result.returncode == 1
    # Like CPython's loaders, co_filename is the module's __file__: <binary>/<module path>.py.
    binary = os.path.realpath(_binary("BEHAVIOURS"))
    assert f'File "{binary}/behaviours.py", line 11, in fail_here' in result.stderr
    assert result.stderr.endswith("ValueError: boom\n")


def test_warning_while_importing_names_the_importing_line():
    # Like CPython: the importer's frames are skipped, so a module-level warning with
    # stacklevel=2 names the import statement (and so the importing module's filters apply).
    result = _run("BEHAVIOURS", "import-warning")
    binary = os.path.realpath(_binary("BEHAVIOURS"))
    assert result.stderr.startswith(f"{binary}/behaviours.py:"), result.stderr
    assert "DeprecationWarning: module 'sre_constants' is deprecated" in result.stderr


def test_error_in_imported_module_traceback_has_no_runtime_frames():
    # Like CPython: the import machinery's frames are pruned from the traceback.
    result = _run("BEHAVIOURS", "import-error")
    assert result.returncode == 1 and result.stderr.endswith("RuntimeError: broken at import\n")
    frames = [line for line in result.stderr.splitlines() if line.startswith('  File "')]
    assert [f.split('"')[1].rsplit("/", 1)[-1] for f in frames[-2:]] == ["behaviours.py", "behaviours_broken.py"], result.stderr
    assert not any("exec_module" in f or "importlib" in f for f in frames), result.stderr
    # Nor the runtime's own (python shows none of Py_RunMain's): the program's main is first.
    assert frames[0].split('"')[1].rsplit("/", 1)[-1] == "behaviours.py", result.stderr


def test_embedded_sources_show_in_tracebacks_and_inspect():
    result = _run("BEHAVIOURS_WITH_SOURCES", "raise")
    assert 'raise ValueError("boom")' in result.stderr
    assert _run("BEHAVIOURS_WITH_SOURCES", "source").stdout.startswith("def fail_here():")


# Big stdlib packages that behaviours.py does not import at start-up.
_NOT_IMPORTED_AT_START = ["asyncio", "email.message", "http.client", "unittest", "pydoc", "tarfile", "difflib",
                          "xml.dom.minidom", "argparse", "inspect", "decimal", "logging.handlers"]


def test_pages_of_imported_modules_are_given_back():
    # The runtime drops the pages around payloads once they are read (runtime/rps_blob.c). Without
    # that, the resident part of the mapping that holds the blob grew by more than the bytecode
    # imported (5.6 MB for 3.5 MB, the kernel's fault-around mapping the neighbours too); with
    # it, by CPython's own read-only data that the imported code uses (0.3 MB). The bytecode read
    # again afterwards, from pages faulted in anew, is the same.
    result = _run("BEHAVIOURS", "pages-after-import", *_NOT_IMPORTED_AT_START)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["bytecode_kib"] > 1000, figures
    assert figures["grown_kib"] < figures["bytecode_kib"] // 4, figures
    assert figures["same_code_read_again"], figures


def test_large_file_opened_by_path_is_copied_past_the_resident_set():
    # Opening a packed file by path copies it into a memory file. Checked whole and copied, all of
    # its pages were resident at once (this 16 MiB file: peak +18.1 MiB); a 1 MiB window at a
    # time, each given back (runtime/rps_blob.c), +3.2 MiB (with the 1 MiB pieces read back).
    result = _run("BEHAVIOURS", "peak-after-open")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    expected = "".join(f"{i}\n" for i in range(1, 2236041)).encode()
    assert (figures["size"], figures["sha256"]) == (len(expected), hashlib.sha256(expected).hexdigest())
    assert figures["peak_grown_kib"] < len(expected) // 1024 // 4, figures


def test_module_not_in_binary_says_so():
    result = _run("BEHAVIOURS", "missing")
    assert result.returncode == 1
    assert "ModuleNotFoundError: No module named 'not_packed_module': it is not in this standalone binary" in result.stderr


def test_find_spec_of_missing_module_is_none():
    result = _run("BEHAVIOURS", "find-spec")
    assert result.stdout == "None\nModuleNotFoundError not_packed_module\n"


def test_keyboard_interrupt_exits_by_sigint():
    result = _run("BEHAVIOURS", "interrupt")
    assert result.returncode == -signal.SIGINT
    assert "KeyboardInterrupt" in result.stderr


def test_signal_default_action():
    assert _run("BEHAVIOURS", "signal").returncode == -signal.SIGTERM


def test_stdin_and_stdout():
    assert _run("BEHAVIOURS", "stdin", input="héllo\n").stdout == "HÉLLO\n"


def test_atexit_runs_and_buffers_flush():
    assert _run("BEHAVIOURS", "atexit").stdout == "buffered, no newline atexit ran\n"


def test_teardown_keeps_data(tmp_path):
    # Files left open (also ones only a reference cycle holds), a non-daemon thread that writes
    # late and an atexit handler: the binary's cheaper teardown must lose none of it.
    out = _run("BEHAVIOURS", "teardown", str(tmp_path / "f"))
    assert (out.returncode, out.stdout, out.stderr) == (0, "no newline", "")
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "f.text": "text in a cycle\n", "f.bin": "bytes in a cycle\n", "f.global": "module global\n",
        "f.thread": "non-daemon thread\n", "f.atexit": "atexit\n"}


@pytest.mark.parametrize("variable, output", [
    # fast (the default): the collector skips what is alive at exit, cycles included (documented).
    ("BEHAVIOURS", ""),
    # full: CPython's finalization collects the cycle and runs its finalizer, as python does.
    ("BEHAVIOURS_FULL_FINALIZATION", "finalized\n"),
])
def test_finalization_modes(variable, output):
    result = _run(variable, "finalizer-in-cycle")
    assert (result.returncode, result.stdout, result.stderr) == (0, output, "")


def test_full_finalization_keeps_data_too(tmp_path):
    out = _run("BEHAVIOURS_FULL_FINALIZATION", "teardown", str(tmp_path / "f"))
    assert (out.returncode, out.stdout) == (0, "no newline")
    assert len(list(tmp_path.iterdir())) == 5


def test_stdout_flush_failure_at_exit_is_status_120():
    # Like python: output that cannot be flushed at exit (a full device) makes the status 120.
    with open("/dev/full", "w") as full:
        out = subprocess.run([_binary("BEHAVIOURS"), "atexit"], stdout=full, stderr=subprocess.PIPE, text=True)
    assert out.returncode == 120, out.stderr
    assert "No space left on device" in out.stderr


def test_exit_with_non_integer_object():
    out = _run("BEHAVIOURS", "exit-object")
    assert (out.returncode, out.stderr) == (1, "['not', 'an', 'int']\n")


def test_python_command_line_opt_in(tmp_path):
    assert _run("PYTHON_CLI", "-c", "import sys; print(sys.argv)", "a").stdout == "['-c', 'a']\n"
    assert _run("PYTHON_CLI", "-I", "-S", "-X", "utf8", "-c", "print(6 * 7)").stdout == "42\n"
    assert _run("PYTHON_CLI", "-m", "json.tool", input='{"a":1}').stdout == '{\n    "a": 1\n}\n'
    script = tmp_path / "script.py"
    script.write_text("import sys\nprint('script', sys.argv[1:], sys.path[0] == sys.argv[0].rpartition('/')[0])\n")
    # As python -I: an isolated binary does not put the script's directory on sys.path; one
    # that is not isolated does, unless -P or -I says otherwise.
    assert _run("PYTHON_CLI", "-E", str(script), "x").stdout == "script ['x'] False\n"
    assert _run("PYTHON_CLI_NOT_ISOLATED", "-E", str(script), "x").stdout == "script ['x'] True\n"
    assert _run("PYTHON_CLI_NOT_ISOLATED", "-P", str(script), "x").stdout == "script ['x'] False\n"
    # As python: the script's directory comes before the stdlib, so its json.py shadows it.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "json.py").write_text("NAME = 'shadow'\n")
    (shadow / "main.py").write_text("import json\nprint(getattr(json, 'NAME', 'stdlib'), json.dumps([1]) if hasattr(json, 'dumps') else '')\n")
    assert _run("PYTHON_CLI_NOT_ISOLATED", str(shadow / "main.py"), env={"PATH": "/usr/bin:/bin"}).stdout == "shadow \n"
    assert _run("PYTHON_CLI", str(shadow / "main.py")).stdout == "stdlib [1]\n"
    # As python: a first argument that is not an option is the script.
    plain_env = {"PATH": "/usr/bin:/bin"}  # not the test's (rules_python's stub sets PYTHONSAFEPATH)
    assert _run("PYTHON_CLI_NOT_ISOLATED", str(script), "y", "-c", env=plain_env).stdout == "script ['y', '-c'] True\n"
    assert _run("PYTHON_CLI_NOT_ISOLATED", str(script), env=dict(plain_env, PYTHONSAFEPATH="1")).stdout == "script [] False\n"
    # As python: a directory with __main__.py runs it, with the directory first on sys.path.
    (tmp_path / "app_dir").mkdir()
    (tmp_path / "app_dir/__main__.py").write_text("import sys\nprint('dir main', sys.argv[1:], sys.path[0] == sys.argv[0])\n")
    assert _run("PYTHON_CLI", str(tmp_path / "app_dir"), "z").stdout == "dir main ['z'] True\n"
    missing = _run("PYTHON_CLI", "/nonexistent/script.py")
    assert missing.returncode == 2 and missing.stderr.endswith(
        "can't open file '/nonexistent/script.py': [Errno 2] No such file or directory\n"), missing.stderr
    unknown = _run("PYTHON_CLI", "--bogus")
    assert unknown.returncode == 2 and unknown.stderr.startswith("unknown option --bogus\n"), unknown.stderr
    # As python: options without a command run stdin when it is not a terminal.
    assert _run("PYTHON_CLI", "-E", "-X", "dev", input="import sys; print('stdin', sys.argv, sys.flags.dev_mode)").stdout == \
        "stdin [''] True\n"
    # main runs without arguments, or as -m <main> with arguments.
    assert json.loads(_run("PYTHON_CLI").stdout)["argv"] == []
    assert json.loads(_run("PYTHON_CLI", "-m", "behaviours", "describe", "-c").stdout)["argv"] == ["describe", "-c"]
    # A binary without the opt-in never runs -c code or scripts.
    assert "print" not in _run("BEHAVIOURS", "-c", "print('hijacked')").stdout
    assert _run("BEHAVIOURS", str(script)).stderr == f"unknown behaviour {str(script)!r}\n"  # main got it


# Each probe prints what an option changes at start-up; the binary must agree with the
# distribution's own python given the same options (python -I for the isolated binary).
_START_UP_PROBE = ("import sys, warnings, faulthandler, tracemalloc; print(sys.argv, sys.warnoptions, sys._xoptions, "
                   "sys.flags, sys.get_int_max_str_digits(), faulthandler.is_enabled(), tracemalloc.is_tracing(), "
                   "[f[0] for f in warnings.filters][:4], sys.path[0] == '')")


@pytest.mark.parametrize("options", [
    ["-X", "dev"], ["-X", "warn_default_encoding", "-X", "int_max_str_digits=700"], ["-W", "error", "-W", "ignore::DeprecationWarning"],
    ["-OO", "-bb", "-q", "-v"], ["-X", "faulthandler", "-X", "tracemalloc", "-u"], ["-P"], ["-E", "-s", "-B", "-X", "importtime"],
])
def test_python_command_line_options_take_effect_as_in_python(options, tmp_path):
    python = os.path.join(os.path.abspath(os.environ["DISTRIBUTION"]), "install", "bin", "python3")
    env = {"PATH": "/usr/bin:/bin", "PYTHONWARNINGS": "ignore::UserWarning", "PYTHONINTMAXSTRDIGITS": "900"}
    for binary, isolation in (("PYTHON_CLI", ["-I"]), ("PYTHON_CLI_NOT_ISOLATED", [])):
        ours = _run(binary, *options, "-c", _START_UP_PROBE, "arg", env=env, cwd=tmp_path)
        stock = subprocess.run([python, *isolation, *options, "-c", _START_UP_PROBE, "arg"], capture_output=True,
                               text=True, env=env, cwd=tmp_path, timeout=60)
        assert ours.returncode == stock.returncode == 0, ours.stderr
        # The distribution's python imports site (no -S) and does not force UTF-8 mode.
        def normal(out: str) -> str:
            return out.replace("no_site=0", "no_site=1").replace("utf8_mode=0", "utf8_mode=1").replace(
                "dont_write_bytecode=0", "dont_write_bytecode=1").replace("no_user_site=0", "no_user_site=1")
        assert normal(ours.stdout) == normal(stock.stdout), binary
        if "importtime" in options:
            assert "import time:" in ours.stderr


def test_python_command_line_errors_and_tracebacks_as_in_python():
    python = os.path.join(os.path.abspath(os.environ["DISTRIBUTION"]), "install", "bin", "python3")
    code = "def f():\n    1 / 0\nf()\n"
    ours, stock = _run("PYTHON_CLI", "-c", code), subprocess.run([python, "-I", "-c", code], capture_output=True, text=True)
    assert ours.returncode == stock.returncode == 1
    # The same traceback: the -c source shows (CPython 3.13+) and no frame of the runtime.
    assert ours.stderr == stock.stderr
    for arguments in (["-Z", "-c", "pass"], ["-c"], ["--check-hash-based-pycs", "sometimes", "-c", "pass"]):
        ours = _run("PYTHON_CLI", *arguments)
        stock = subprocess.run([python, *arguments], capture_output=True, text=True)
        assert ours.returncode == stock.returncode == 2, arguments
        assert ours.stderr.splitlines()[0] == stock.stderr.splitlines()[0], arguments
    assert _run("PYTHON_CLI", "-V").stdout == subprocess.run([python, "-V"], capture_output=True, text=True).stdout
    # Not isolated: PYTHON* variables apply, and -E or -I turn them off, as in python.
    env = {"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "latin-1", "PYTHONHASHSEED": "7"}
    probe = "import sys; print(sys.stdout.encoding, hash('a'))"
    seeded = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=env).stdout
    assert seeded.startswith("iso8859-1 ")
    assert _run("PYTHON_CLI_NOT_ISOLATED", "-c", probe, env=env).stdout == seeded
    for ignored in (["PYTHON_CLI_NOT_ISOLATED", "-E"], ["PYTHON_CLI_NOT_ISOLATED", "-I"], ["PYTHON_CLI"]):
        assert _run(*ignored, "-c", probe, env=env).stdout.startswith("utf-8 "), ignored


def test_python_command_line_runs_packed_scripts_from_memory():
    # A script path under the binary's own virtual tree runs the packed module (no source
    # embedded in this binary, nothing read from disk), as __main__ with its arguments.
    binary = os.path.realpath(_binary("PYTHON_CLI"))
    assert _run("PYTHON_CLI", f"{binary}/behaviours.py", "exit", "3").returncode == 3
    tool = _run("PYTHON_CLI", f"{binary}/json/tool.py", input='{"b": [1]}')
    assert (tool.returncode, tool.stdout) == (0, '{\n    "b": [\n        1\n    ]\n}\n'), tool.stderr
    # As from disk, a package's directory on sys.path (a script's directory is put there) imports
    # its modules as top-level ones.
    sibling = _run("PYTHON_CLI", "-c", "import sys; sys.path.insert(0, sys.executable + '/json'); import decoder, json.decoder; "
                   "print(decoder.__name__, decoder.__file__ == json.decoder.__file__, decoder is json.decoder)")
    assert sibling.stdout == "decoder True False\n", sibling.stderr


@pytest.mark.parametrize("code, status, stderr", [
    ("exit(1)", 1, ""), ("quit(3)", 3, ""), ("exit()", 0, ""), ("exit('bye')", 1, "bye\n"), ("quit", 0, ""),
])
def test_python_command_line_has_exit_and_quit(code, status, stderr):
    result = _run("PYTHON_CLI", "-c", code)
    assert (result.returncode, result.stderr) == (status, stderr)


def test_exit_builtin_only_with_the_python_command_line():
    # Without the opt-in the program's builtins are python -S's: no exit() or quit().
    result = _run("BEHAVIOURS", "builtins")
    assert result.stdout == "False False\n"


def test_resources_example():
    result = _run("RESOURCES_EXAMPLE")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "greeting: Hello from package data!\n"
        "version: 1.0\n"
        "entry point: ['demo_pkg:greeting']\n"
        "submodules: ['tools']\n"
        "data files: ['greeting.txt']\n"
        "file under the binary: True\n"
    )


def test_application_package_named_like_an_excluded_stdlib_package():
    result = _run("STDLIB_NAMED_PACKAGE")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "the application's test.leakers module", "the application's README", "True"]


STDLIB_TOUR_LINES = [
    "ssl: OpenSSL True", "sqlite3: 6", 'json: {"a": [1, 2.5, null]}', "decimal: 0.1428571428571428571428571429",
    "ctypes: 10", "lzma: True", "zlib: 1469667136", "asyncio: 42",
    "multiprocessing spawn: [0, 1, 4, 9, 16]", "multiprocessing forkserver: [0, 1, 4, 9, 16]",
]


def test_stdlib_tour():
    result = _run("STDLIB_TOUR")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == STDLIB_TOUR_LINES


@pytest.mark.parametrize("variable", ["HELLO", "STDLIB_TOUR"])
def test_copied_alone_with_empty_environment(tmp_path, variable):
    binary = tmp_path / "app"
    shutil.copy(_binary(variable), binary)
    empty = tmp_path / "cwd"
    empty.mkdir()
    result = subprocess.run(["env", "-i", str(binary)], capture_output=True, text=True, cwd=empty, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == _run(variable).stdout
    assert list(empty.iterdir()) == []


def _report(variable: str) -> dict:
    return json.loads(Path(_binary(variable)).with_name(Path(_binary(variable)).name + ".modules.json").read_text())


def test_files_next_to_the_binary_change_nothing(tmp_path):
    # CPython's path calculation would take sys.path from <binary>._pth and a home from
    # pyvenv.cfg; a standalone binary's sys.path is its own whatever lies beside it.
    binary = tmp_path / "app"
    shutil.copy(_binary("BEHAVIOURS"), binary)
    (tmp_path / "app._pth").write_text(str(tmp_path / "elsewhere") + "\n")
    (tmp_path / "pyvenv.cfg").write_text(f"home = {tmp_path / 'elsewhere'}\n")
    (tmp_path / "pybuilddir.txt").write_text("build\n")
    described = json.loads(_run(str(binary), "describe").stdout)
    assert described["path"] == [str(binary)]
    assert described["executable"] == str(binary)


def test_pruned_binary_is_smaller_and_works():
    assert _run("HELLO_PRUNED").stdout == HELLO_OUTPUT
    assert os.path.getsize(_binary("HELLO_PRUNED")) < os.path.getsize(_binary("HELLO")) - 10_000_000
    dropped = {e["name"] for e in _report("HELLO_PRUNED")["excluded"] if "left out of the link" in e["reason"]}
    assert {"_ssl", "_hashlib", "_sqlite3", "_lzma", "_decimal"} <= dropped


def test_compressed_binary_is_smaller_and_works():
    result = _run("STDLIB_TOUR_COMPRESSED")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == STDLIB_TOUR_LINES
    assert os.path.getsize(_binary("STDLIB_TOUR_COMPRESSED")) < os.path.getsize(_binary("STDLIB_TOUR")) - 5_000_000


def test_pruned_binary_keeps_the_extension_modules_it_imports():
    result = _run("STDLIB_TOUR_PRUNED")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == STDLIB_TOUR_LINES
    dropped = {e["name"] for e in _report("STDLIB_TOUR_PRUNED")["excluded"] if "left out of the link" in e["reason"]}
    assert not dropped & {"_ssl", "_sqlite3", "_lzma", "_decimal", "_ctypes", "zlib"}


# --- file access under strace -------------------------------------------------------------

_SYSCALL = re.compile(r'^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((.*)$')
_PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SHARED_LIBRARY = re.compile(r"\.so(\.\d+)*$")
# Files the program's own multiprocessing use creates (not the runtime): glibc's sem_open
# temporaries, tempfile's writability probe of the temp dir, the forkserver's socket directory.
_MULTIPROCESSING_FILES = re.compile(r"^/dev/shm/sem\.|^/tmp/pymp-|^/tmp/[a-z0-9_]{8}$")


def _strace(binary: Path, cwd: Path, *args: str) -> list[str]:
    log = cwd.parent / "strace.log"
    strace = os.path.abspath(os.environ["STRACE"])
    libunwind = rlocation.paths("LIBUNWIND")[0].parent
    env = {"LD_LIBRARY_PATH": str(libunwind)}
    result = subprocess.run(
        [strace, "-f", "-qq", "-y", "-s", "256", "-o", str(log), "-e",
         "trace=%file,write,writev,pwrite64,pwritev,mkdir,rename,unlink", "--", "/usr/bin/env", "-i", str(binary), *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = log.read_text().splitlines()
    exec_line = next(i for i, line in enumerate(lines) if f'execve("{binary}"' in line)
    return lines[exec_line + 1:]


_STAT_CALLS = ("stat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2")


def _violations(lines: list[str], distribution: str) -> list[str]:
    found = []
    for line in lines:
        match = _SYSCALL.match(line)
        if not match:
            continue
        call, rest = match.groups()
        paths = _PATH.findall(rest)
        if call.startswith(("write", "pwrite")):
            target = re.match(r"(\d+)<([^>]*)>", rest)
            # Memory files (memfd_create: no file system) hold packed files opened by path.
            if target and target.group(1) not in ("1", "2") and not target.group(2).startswith(("pipe:", "socket:", "anon_inode:", "/memfd:rps:")) \
                    and not _MULTIPROCESSING_FILES.match(target.group(2)):
                found.append(line)
            continue
        for path in paths:
            # sysconfig's build-tree check (is_python_build(), at its import; ctypes imports
            # sysconfig from 3.13.15 on) stats <executable's directory>/Modules/Setup.local, as in
            # python: it changes no path of the binary, and nothing is read.
            if call in _STAT_CALLS and path.endswith("/Modules/Setup.local"):
                continue
            # Sources, bytecode, a stdlib on disk, or the files CPython's path calculation consults.
            if path.endswith((".py", ".pyc", "pyvenv.cfg", "._pth", "pybuilddir.txt", "Modules/Setup.local")) \
                    or "/lib/python3" in path or path.startswith(distribution):
                found.append(line)
            elif _SHARED_LIBRARY.search(path) and not SYSTEM_LIBRARIES.search(path):
                found.append(line)
        creates = call in ("mkdir", "mkdirat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "creat") \
            or (call.startswith("open") and re.search(r"O_CREAT|O_WRONLY|O_RDWR|O_TRUNC", rest))
        directory = re.match(r"\w+<([^>]*)>", rest)  # *at() calls relative to a directory fd
        target = f"{directory.group(1)}/{paths[0]}" if paths and directory and not paths[0].startswith("/") else (paths or [""])[0]
        if creates and not _MULTIPROCESSING_FILES.match(target) and target not in ("/dev/null", "/dev/tty"):
            found.append(line)
    return found


@pytest.mark.parametrize("variable", ["HELLO", "STDLIB_TOUR"])
def test_no_python_files_read_and_nothing_written(tmp_path, variable):
    binary = tmp_path / "app"
    shutil.copy(_binary(variable), binary)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    lines = _strace(binary, cwd)
    assert any('readlink("/proc/self/exe"' in line for line in lines)  # the trace covers the runtime
    distribution = os.path.realpath(os.environ["DISTRIBUTION"])
    violations = _violations(lines, distribution)
    assert violations == [], "\n".join(violations)


def test_violation_detector_catches_python_file_reads():
    sample = ['123 openat(AT_FDCWD, "/usr/lib/python3.13/os.py", O_RDONLY|O_CLOEXEC) = 3',
              '123 openat(AT_FDCWD, "/tmp/out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3',
              '123 write(3</tmp/out.txt>, "x", 1) = 1',
              '123 openat(AT_FDCWD, "/opt/app/Modules/Setup.local", O_RDONLY|O_CLOEXEC) = 3',
              '123 openat(AT_FDCWD, "/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3',
              '123 stat("/opt/app/Modules/Setup.local", 0x7ffd94be02b8) = -1 ENOENT (No such file or directory)']
    assert _violations(sample, "/dist") == sample[:4]


# --- damaged binaries ---------------------------------------------------------------------

def _blob_offset(data: bytes) -> tuple[int, resources.Blob]:
    start = 0
    while (start := data.find(resources.MAGIC, start)) >= 0:
        size = int.from_bytes(data[start + 16:start + 24], "little")
        try:
            return start, resources.Blob(data[start:start + size])
        except resources.FormatError:
            start += 1
    raise AssertionError("no packed resources in the binary")


def _damaged(tmp_path: Path, change, variable: str = "HELLO") -> subprocess.CompletedProcess:
    data = bytearray(Path(_binary(variable)).read_bytes())
    offset, blob = _blob_offset(bytes(data))
    change(data, offset, blob)
    damaged = tmp_path / "hello"
    damaged.write_bytes(bytes(data))
    damaged.chmod(0o755)
    return _run(str(damaged))


def test_pruned_binary_runs_argparse_help_and_errors():
    """argparse imports locale (through gettext) and shutil inside functions: prune follows them."""
    result = _run("BLOB_FUZZ", "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: blob_fuzz"), result.stderr
    result = _run("BLOB_FUZZ", "--iterations", "many")
    assert result.returncode == 2 and "argument --iterations: invalid int value: 'many'" in result.stderr


def test_index_checks_agree_with_the_python_reader_on_damaged_blobs():
    """The unit tests' damaged blobs (tests/tools/damaged_blobs.py), then differential fuzzing
    (tests/standalone/blob_fuzz.py), bounded: a fixed seed, so a failure reproduces with
    `blob_fuzz --seed 1 --iterations 12000`."""
    result = _run("BLOB_FUZZ", "--seed", "1", "--iterations", "12000")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    cases = damaged_blobs.cases()
    at_use = sum(1 for case in cases if case.checked_at_use)
    assert lines[0] == (f"{len(cases)} damaged-blob cases of the unit tests: {len(cases) - at_use} refused by both, "
                        f"{at_use} accepted by both at start-up (checked at first use), 0 failed"), result.stdout
    summary = next(line for line in lines if line.startswith("12000 damaged blobs: "))
    refused = re.match(r"12000 damaged blobs: \d+ still valid, \d+ refused only .*, (\d+) refused by both", summary).group(1)
    # The damage reaches the checks behind the CRC, not only the CRC.
    assert int(refused) > 8000 and "entry payload outside the blob" in result.stdout, result.stdout


def test_flipped_index_byte_is_refused(tmp_path):
    def flip(data, offset, blob):
        data[offset + resources.HEADER.size + 5] ^= 0x10  # inside the modules table (after the header)
    result = _damaged(tmp_path, flip)
    assert result.returncode == 70
    assert "corrupt packed resources: index CRC-32 mismatch" in result.stderr


def test_wrong_size_is_refused(tmp_path):
    def shrink(data, offset, blob):
        size = int.from_bytes(data[offset + 16:offset + 24], "little")
        data[offset + 16:offset + 24] = (size - 1).to_bytes(8, "little")
    result = _damaged(tmp_path, shrink)
    assert result.returncode == 70 and "blob_size differs from the linked size" in result.stderr


def test_unknown_version_is_refused(tmp_path):
    def version(data, offset, blob):
        data[offset + 8] = 9
    result = _damaged(tmp_path, version)
    assert result.returncode == 70 and "format version 9 is not supported" in result.stderr


def test_flipped_module_byte_is_refused_when_imported(tmp_path):
    def flip(data, offset, blob):
        record = blob.find("modules", "hello")
        data[offset + record.data_offset + record.data_length // 2] ^= 0xFF
    result = _damaged(tmp_path, flip)
    assert result.returncode == 1  # an ImportError the program could catch, not a crash
    assert "corrupt packed resources: CRC-32 mismatch in entry 'hello'" in result.stderr


def _rewrite_module(data: bytearray, offset: int, blob: resources.Blob, name: str, change) -> None:
    """Changes a module's stored bytes and rewrites its CRC-32 and the index's, so the damage
    reaches the decompression behind them."""
    index = [record.name for record in blob.tables["modules"]].index(name)
    record = blob.tables["modules"][index]
    start = offset + record.data_offset
    payload = bytearray(data[start:start + record.data_length])
    change(payload)
    data[start:start + record.data_length] = payload
    table = int.from_bytes(data[offset + 24:offset + 28], "little")
    entry_crc = offset + table + resources.ENTRY.size * index + 28
    data[entry_crc:entry_crc + 4] = zlib.crc32(bytes(payload)).to_bytes(4, "little")
    index_end = int.from_bytes(data[offset + 52:offset + 56], "little")
    data[offset + 60:offset + 64] = resources.index_crc(bytes(data[offset:offset + index_end])).to_bytes(4, "little")


def test_compressed_hello_leaves_its_startup_modules_as_they_are():
    result = _run("HELLO_COMPRESSED")
    assert result.returncode == 0 and result.stdout == _run("HELLO").stdout, result.stderr
    assert os.path.getsize(_binary("HELLO_COMPRESSED")) < os.path.getsize(_binary("HELLO")) - 5_000_000
    _, blob = _blob_offset(Path(_binary("HELLO_COMPRESSED")).read_bytes())
    for name in ("hello", "encodings", "encodings.utf_8", "codecs", "io", "abc", "_rps_importer"):
        assert not blob.find("modules", name).flags & resources.COMPRESSED, name
    for name in ("json", "asyncio", "email.message", "encodings.cp1252"):
        assert blob.find("modules", name).flags & resources.COMPRESSED, name


def test_compressed_binary_packs_zstd_frames_and_a_dictionary():
    _, blob = _blob_offset(Path(_binary("STDLIB_TOUR_COMPRESSED")).read_bytes())
    dictionary_offset, dictionary_length, _ = blob.dictionary
    assert dictionary_length > 50_000
    modules = [record for record in blob.tables["modules"] if not record.flags & resources.NAMESPACE]
    assert all(record.flags & resources.COMPRESSED for record in modules if not record.flags & resources.EXTENSION)
    # Each payload: the code's length (u32), then a zstd frame (magic 28 b5 2f fd).
    json_module = blob.find("modules", "json")
    assert bytes(blob.payload(json_module)[0][4:8]) == b"\x28\xb5\x2f\xfd"


@pytest.mark.parametrize("change, message", [
    (lambda payload: payload.__setitem__(4, payload[4] ^ 1), "entry 'json' does not decompress to its"),
    (lambda payload: payload.__setitem__(0, payload[0] + 1), "the frame holds fewer bytes"),
])
def test_damaged_compressed_module_is_an_import_error(tmp_path, change, message):
    result = _damaged(tmp_path, lambda data, offset, blob: _rewrite_module(data, offset, blob, "json", change),
                      "STDLIB_TOUR_COMPRESSED")
    assert result.returncode == 1, result.stderr  # an ImportError the program could catch, not a crash
    assert "ImportError: corrupt packed resources: entry 'json'" in result.stderr and message in result.stderr


def test_damaged_dictionary_stops_the_binary_before_any_import(tmp_path):
    def flip(data, offset, blob):
        dictionary_offset, dictionary_length, _ = blob.dictionary
        data[offset + dictionary_offset + dictionary_length // 2] ^= 1
    result = _damaged(tmp_path, flip, "STDLIB_TOUR_COMPRESSED")
    assert result.returncode == 70 and result.stdout == ""
    assert "(dictionary CRC-32 mismatch)" in result.stderr, result.stderr


# --- files by path (the read-only view of the packed files under the binary's path) ----------

def _stock_python(*args, env=None, cwd=None):
    python = os.path.join(os.environ["DISTRIBUTION"], "install", "bin", "python3.13")
    return subprocess.run([python, "-B", "-s", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def view_site(tmp_path_factory) -> Path:
    """viewpkg laid out in a plain directory (runfiles are symbolic links), for stock python."""
    site = tmp_path_factory.mktemp("view") / "site"
    shutil.copytree(Path(os.environ["VIEW_PACKAGE"]).parents[1], site)
    return site


@pytest.mark.parametrize("variable", ["FILES_BY_PATH", "FILES_BY_PATH_3_11"])
def test_files_by_path_match_stock_python(view_site, variable):
    inside = _run(variable, "binary")
    assert inside.returncode == 0, inside.stderr
    stock = _stock_python(os.path.abspath(os.environ["FILES_BY_PATH_PY"]), env={"PYTHONPATH": str(view_site), "PATH": "/usr/bin:/bin"})
    assert stock.returncode == 0, stock.stderr
    inside_result, stock_result = json.loads(inside.stdout), json.loads(stock.stdout)
    read_only = inside_result.pop("binary")
    # The same results and the same exceptions as from a directory on disk, API by API.
    for key in sorted(set(inside_result) | set(stock_result)):
        assert inside_result.get(key) == stock_result.get(key), key
    assert inside_result["source"]["linecache"].strip() == "return text.upper()  # a line the test reads back through linecache"
    assert inside_result["as_file"][0] == "viewpkg/data/greeting.txt"  # the virtual path, no temporary file
    assert inside_result["ssl_cafile"] == [[[["commonName", "rules_py_standalone test CA"]]]]  # OpenSSL got the bytes
    # Read-only: every write names its path and fails as on a read-only file system.
    erofs = {"errno": 30, "error": "OSError"}
    for key in ("open_write", "open_append", "os_open_write", "os_open_create", "mkdir", "remove", "rmdir", "rename", "pathlib_write"):
        assert {k: read_only[key][k] for k in erofs} == erofs, key
        assert read_only[key]["filename"].startswith("viewpkg/data"), key
    assert read_only["mkdir_existing"]["error"] == "FileExistsError"
    assert read_only["access_write"] is False and read_only["as_file_under_binary"] is True
    assert read_only["fd_read_only"]["error"] == "PermissionError"  # a sealed memory file
    assert read_only["binary_is_a_file"] == [True, False]
    assert read_only["readlink"]["errno"] == 22  # EINVAL: not a symbolic link, as for a regular file
    assert read_only["mmap"] == [[0, 1, 2], {"error": "PermissionError", "errno": 1, "filename": None}]
    assert read_only["copytree"] == [["copy/ca.pem", True], ["copy/greeting.txt", True], ["copy/nested/deeper/note.md", True], ["copy/nested/numbers.bin", True]]
    # Relative paths: read-only as well; relative to a directory descriptor, the kernel's answer.
    relative = read_only["relative"]
    assert [relative[key]["errno"] for key in ("open_write", "mkdir")] == [30, 30]
    name = os.path.basename(_binary(variable))
    assert relative["open_write"]["filename"] == f"{name}/viewpkg/data/greeting.txt"  # as given
    assert relative["dir_fd"]["error"] == "NotADirectoryError"
    assert relative["binary"] == [True, {"error": "NotADirectoryError", "errno": 20, "filename": name + "/"}]


def test_files_by_path_without_memory_files():
    result = _run("FILES_BY_PATH", "no-memfd")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "Hello from a data file!\nSecond line: café\n", "viewpkg/data/greeting.txt", "r", "Hello", "rb",
        "UnsupportedOperation", 38, '"""A package that finds its data next to its code, by path (the files-by-path view\'s test)."""']


def test_files_by_path_read_no_file_and_write_nothing(tmp_path):
    binary = tmp_path / "app"
    shutil.copy(_binary("FILES_BY_PATH"), binary)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    lines = _strace(binary, cwd)
    distribution = os.path.realpath(os.environ["DISTRIBUTION"])
    violations = _violations(lines, distribution)
    assert violations == [], "\n".join(violations)
    # The paths under the binary never reach the kernel; the packed files come from memory files.
    assert not [line for line in lines if f"{binary}/" in line], "a path under the binary reached the kernel"
    # A relative one does, once: its ENOTDIR (the binary is a file) sends it to the view.
    relative = [line for line in lines if re.search(r'"(\.\./[^"/]+/)?app/', line)]
    assert relative and all("= -1 ENOTDIR" in line for line in relative), "\n".join(relative)
    assert any("/memfd:rps:viewpkg/data/greeting.txt" in line for line in lines)
    assert list(cwd.iterdir()) == []


def test_damaged_packed_file_fails_its_first_read(tmp_path):
    data = bytearray(Path(_binary("FILES_BY_PATH")).read_bytes())
    offset, blob = _blob_offset(bytes(data))
    record = blob.find("resources", "viewpkg/data/greeting.txt")
    data[offset + record.data_offset] ^= 0xFF
    damaged = tmp_path / "app"
    damaged.write_bytes(bytes(data))
    damaged.chmod(0o755)
    result = _run(str(damaged), "read", "viewpkg/data/greeting.txt")
    assert result.returncode == 0, result.stderr
    # An OSError naming the entry and the path, at the first read; other files still read.
    assert result.stdout.startswith("OSError 5 [Errno 5] corrupt packed resources: CRC-32 mismatch in entry "
                                    "'viewpkg/data/greeting.txt'"), result.stdout
    assert result.stdout.rstrip().endswith(f"{damaged}/viewpkg/data/greeting.txt'")
    assert _run(str(damaged), "read", "viewpkg/sub/table.csv").stdout == "name,value\none,1\ntwo,2\n"


def _files_on_disk() -> tuple[Path, Path]:
    binary = Path(os.path.abspath(next(p for p in os.environ["FILES_ON_DISK"].split() if not p.endswith(".data"))))
    return binary, binary.with_name(binary.name + ".data")


def test_data_on_disk_serves_c_code(tmp_path):
    binary, data = _files_on_disk()
    assert (data / "viewpkg" / "data" / "nested" / "numbers.bin").is_file()  # beside the binary, in its runfiles
    expected = "viewpkg/data/greeting.txt\nHello from a data file!\nSecond line: café\nTrue\n"
    result = _run(str(binary))
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")
    # Copied without its directory: the import says what is missing, nothing crashes.
    shutil.copy(binary, tmp_path / "app")
    alone = _run(str(tmp_path / "app"))
    assert alone.returncode == 1 and "keeps its data files on disk (data_on_disk)" in alone.stderr, alone.stderr
    assert "copy that directory along with the binary" in alone.stderr
    # A changed file is refused before the package runs.
    shutil.copytree(data, tmp_path / "app.data")
    changed = tmp_path / "app.data" / "viewpkg" / "data" / "greeting.txt"
    changed.chmod(0o644)
    changed.write_text("tampered\n")
    tampered = _run(str(tmp_path / "app"))
    assert tampered.returncode == 1 and f"{changed} differs from the copy packed in the binary" in tampered.stderr, tampered.stderr
