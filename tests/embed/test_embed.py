"""py_standalone_library and py_standalone_shared_library: the embedding API from C programs.

embed_check.c prints one line per API call (`<label>: <status>: <result or error>`); these
tests compare them. The shared object is loaded by embed_check.c built here with the host's
plain cc, outside Bazel.
"""

import os
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tests import rlocation
from tools.audit import audit

API = ["rps_embed_call", "rps_embed_configure", "rps_embed_finalize", "rps_embed_initialize",
       "rps_embed_last_error", "rps_embed_result_free", "rps_embed_run_module", "rps_embed_run_string",
       "rps_embed_status_name"]
NOT_IN_LIBRARY = "it is not in this standalone library. Add the library that provides it to the py_standalone_library's deps"


def _path(variable: str) -> str:
    return os.path.abspath(os.environ[variable])


def _run(program: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([program, *args], capture_output=True, text=True, timeout=120,
                            env=env if env is not None else {"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _calls(output: str) -> dict[str, tuple[str, str]]:
    """{label: (status, text)} of embed_check's lines; newlines in texts are \\n again."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"(.+?): (RPS_EMBED_\w+): (.*)$", line)
        if match:
            found[match.group(1)] = (match.group(2), match.group(3).replace("\\n", "\n"))
    return found


def test_example_calls_python_and_runs_a_plugin():
    result = _run(_path("EMBED_EXAMPLE"), "one", "two")
    assert result.stdout.splitlines() == [
        "C++ main started with 2 argument(s); Python is not running yet",
        "greeter.greet -> Hello, C++! Hello, C++!",
        "greeter.checksum -> 4 bytes, sum 256",
        "greeter.divide failed (RPS_EMBED_PYTHON_ERROR): ZeroDivisionError: division by zero",
        "== report plugin == (run as __main__, sys.argv[1:] = ['--verbose'])",
        "plugin exit status 0",
        "greeter.greet failed (RPS_EMBED_FINALIZED): rps_embed_call: Python was finalized "
        "(rps_embed_finalize) and cannot be used again",
    ]
    assert result.stderr == ""


def test_example_passes_the_audit_and_exports_nothing():
    report = audit.audit(_path("EMBED_EXAMPLE"), "linux_x86_64_gnu", exported_symbols=[])
    assert report.ok, report.to_text()
    assert report.facts["exported_symbols"] == []


def _check_calls(program: str) -> None:
    calls = _calls(_run(program, "calls").stdout)
    ok = "RPS_EMBED_OK"
    assert calls["echo"] == (ok, "str 6 h\u00e9llo")
    assert calls["concat 1"] == (ok, "str 11 ab (call 1)")
    assert calls["concat 2"] == (ok, "str 11 ab (call 2)")  # the interpreter lives on between calls
    assert calls["bytes"] == (ok, "bytes 3 zyx")
    assert calls["none"] == (ok, "none 0 -")
    assert calls["number"] == (ok, "str 2 42")
    status, text = calls["exception"]
    assert status == "RPS_EMBED_PYTHON_ERROR"
    assert text.startswith("rps_embed_call: Traceback (most recent call last):\n")
    assert "embedded/calls.py\", line" in text and "in fail" in text and text.endswith("ValueError: boom\n")
    assert "_rps_embed" not in text and "rps_importer" not in text  # the runtime's frames are left out
    assert calls["after the exception"] == (ok, "str 6 h\u00e9llo")  # the process and Python go on
    assert calls["package data"] == (ok, "str 28 packed note|packed note|True")
    assert calls["metadata"] == (ok, "str 3 1.0")
    assert calls["state"] == (ok, "str 71 (1, ['embedded', 'first', 'second'], ['/nonexistent/extra-path'], True)")
    assert calls["run module"] == (ok, "")
    assert calls["state kept by run string"] == (ok, "str 13 ab (call 101)")
    assert calls["run string raising"][0] == "RPS_EMBED_PYTHON_ERROR"
    assert calls["run string raising"][1].endswith("ZeroDivisionError: division by zero\n")
    assert calls["finalize"] == (ok, "")
    finalized = "Python was finalized (rps_embed_finalize) and cannot be used again"
    assert calls["call after finalize"] == ("RPS_EMBED_FINALIZED", f"rps_embed_call: {finalized}")
    assert calls["run string after finalize"] == ("RPS_EMBED_FINALIZED", f"rps_embed_run_string: {finalized}")
    assert calls["initialize after finalize"] == ("RPS_EMBED_FINALIZED", f"rps_embed_initialize: {finalized}")
    assert calls["finalize again"] == ("RPS_EMBED_FINALIZED", "rps_embed_finalize: Python was already finalized")


def _check_bad_input(program: str) -> None:
    calls = _calls(_run(program, "bad").stdout)
    not_configured = "call rps_embed_configure() first"
    assert calls["call before configure"] == ("RPS_EMBED_NOT_CONFIGURED", f"rps_embed_call: {not_configured}")
    assert calls["initialize before configure"] == ("RPS_EMBED_NOT_CONFIGURED", f"rps_embed_initialize: {not_configured}")
    assert calls["run module before configure"] == ("RPS_EMBED_NOT_CONFIGURED", f"rps_embed_run_module: {not_configured}")
    assert calls["configure NULL"] == ("RPS_EMBED_BAD_ARGUMENT", "rps_embed_configure: config is NULL")
    assert calls["initialize"] == ("RPS_EMBED_OK", "")
    assert calls["initialize again"] == ("RPS_EMBED_ALREADY_INITIALIZED", "rps_embed_initialize: Python has already been initialized")
    assert calls["configure after initialize"][0] == "RPS_EMBED_ALREADY_INITIALIZED"
    status, text = calls["module not in the library"]
    assert status == "RPS_EMBED_NOT_FOUND"
    assert text.startswith("rps_embed_call: ModuleNotFoundError: No module named 'no_such_module': " + NOT_IN_LIBRARY)
    assert calls["function not in the module"] == (
        "RPS_EMBED_NOT_FOUND", "rps_embed_call: AttributeError: module 'embedded.calls' has no attribute 'no_such_function'\n")
    # A module that is there but fails to import something is the module's error, not NOT_FOUND.
    status, text = calls["missing import inside"]
    assert status == "RPS_EMBED_PYTHON_ERROR" and "No module named 'not_in_the_library'" in text and "in imports_missing" in text
    assert calls["run module not in the library"][0] == "RPS_EMBED_NOT_FOUND"
    assert "No module named 'no.such.plugin': " + NOT_IN_LIBRARY in calls["run module not in the library"][1]
    assert calls["text that is not UTF-8"][0] == "RPS_EMBED_BAD_ARGUMENT"
    assert "UnicodeDecodeError" in calls["text that is not UTF-8"][1]
    assert calls["unknown value kind"][0] == "RPS_EMBED_BAD_ARGUMENT"
    assert calls["NULL module"][0] == "RPS_EMBED_BAD_ARGUMENT"
    assert calls["run string NULL"][0] == "RPS_EMBED_BAD_ARGUMENT"
    assert calls["finalize from another thread"][0] == "RPS_EMBED_WRONG_THREAD"
    assert calls["finalize"] == ("RPS_EMBED_OK", "")


def test_calls_exceptions_and_finalize():
    _check_calls(_path("EMBED_CHECK"))


def test_bad_input_gives_error_codes_and_messages():
    _check_bad_input(_path("EMBED_CHECK"))


def test_python_threads_run_between_calls_and_other_threads_may_call():
    calls = _calls(_run(_path("EMBED_CHECK"), "threads").stdout)
    assert set(status for status, _ in calls.values()) == {"RPS_EMBED_OK"}, calls
    assert calls["call from another C thread"] == ("RPS_EMBED_OK", "str 15 from a C thread")


def test_not_isolated_reads_the_environment():
    result = _run(_path("EMBED_CHECK"), "environment", env={"PATH": "/usr/bin:/bin", "PYTHONPATH": "/from/env"})
    status, text = _calls(result.stdout)["state"]
    assert status == "RPS_EMBED_OK"
    assert text.startswith("str ") and "(0, ['embedded', 'first', 'second'], [" in text and "'/from/env'" in text


def test_plugin_exit_status():
    # run_module of the example's plugin reports SystemExit's status without ending the process:
    # embed_check's plugin exits with the status given in sys.argv[1] ("exit=N"), 0 here.
    output = _run(_path("EMBED_CHECK"), "calls").stdout
    assert "plugin __main__ argv=['embedded', 'first', 'second']" in output and "exit status: 0" in output


# --- Lazy start-up: linking the library costs nothing until the first call ------------------

def _start_ups(program: str, rounds: int) -> tuple[list[int], list[float]]:
    faults, times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        process = subprocess.Popen([program, "never"], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - start)
        assert status == 0
        faults.append(usage.ru_minflt + usage.ru_majflt)
    return faults, times


def test_linked_but_never_called_runs_no_python():
    program = _path("EMBED_CHECK")
    assert _run(program, "never").stdout == "never: Python was not called\n"
    lines = _strace(program, "never")
    # What the interpreter's start does first (rps_executable_path, the importer's memory files,
    # Python's signal handling and its random seed for hashing) never happens.
    assert not any("/proc/self/exe" in line or "memfd_create" in line or "rt_sigaction" in line for line in lines), lines
    # Nothing of the library runs before main() either (mimalloc's and liblzma's constructors are
    # built as first-use code, tools/source_edits): the program makes the same system calls, in
    # the same order, as the same program without the library.
    baseline = _strace(_path("WITHOUT_LIBRARY_SAME_LIBRARIES"), "never")
    assert [_syscall(line) for line in lines] == [_syscall(line) for line in baseline], (lines, baseline)


def test_the_library_brings_no_constructor():
    with open(_path("EMBED_CHECK"), "rb") as file:
        elf = ELFFile(file)
        run_at_load = [section.name for section in elf.iter_sections()
                       if section["sh_type"] in ("SHT_INIT_ARRAY", "SHT_PREINIT_ARRAY") and section["sh_size"]]
        dynamic = elf.get_section_by_name(".dynamic")
        run_at_load += [tag.entry.d_tag for tag in dynamic.iter_tags() if tag.entry.d_tag in ("DT_INIT", "DT_PREINIT_ARRAY")]
    # embed_check.c has no constructor of its own.
    assert run_at_load == []


def _syscall(line: str) -> str:
    """The call's name, without strace -f's process id (or the line, for exit notes)."""
    match = re.match(r"\d+ +(\w+)\(", line)
    return match.group(1) if match else re.sub(r"^\d+ +", "", line)


def test_start_up_of_a_program_that_never_calls(capsys):
    """Measured, not asserted: page faults and wall time against the same program without the
    library (and with the shared C libraries CPython needs, which the loader maps at start-up)."""
    programs = {"without the library": _path("WITHOUT_LIBRARY"),
                "without, same C libraries": _path("WITHOUT_LIBRARY_SAME_LIBRARIES"),
                "with the library, never called": _path("EMBED_CHECK")}
    results = {}
    for _ in range(3):  # interleaved rounds: the machine's load affects all alike
        for name, program in programs.items():
            faults, times = _start_ups(program, 30)
            results.setdefault(name, ([], []))
            results[name][0].extend(faults)
            results[name][1].extend(times)
    with capsys.disabled():
        for name, (faults, times) in results.items():
            print(f"\n{name}: page faults median {statistics.median(faults)}, wall median "
                  f"{statistics.median(times) * 1000:.2f} ms, best {min(times) * 1000:.2f} ms ({len(times)} runs)")


# --- Files: nothing but the program itself -----------------------------------------------------

def _strace(program: str, *args: str) -> list[str]:
    strace = _path("STRACE")
    libunwind = rlocation.paths("LIBUNWIND")[0].parent
    log = Path(os.environ.get("TEST_TMPDIR", "/tmp")) / f"strace-{os.getpid()}-{args[0]}.log"
    result = subprocess.run([strace, "-f", "-qq", "-y", "-s", "256", "-o", str(log), "--", program, *args],
                            capture_output=True, text=True, timeout=300, env={"LD_LIBRARY_PATH": str(libunwind)})
    assert result.returncode == 0, result.stderr
    lines = log.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "execve(" in line)
    return lines[start + 1:]


_PATH_ARGUMENT = re.compile(r'^\d+ (open|openat|stat|lstat|newfstatat|statx|access|faccessat2?|readlink|readlinkat|'
                            r'execve|opendir|getdents64|mkdir|unlink|rename)\((?:AT_FDCWD<[^>]*>, |\d+<[^>]*>, )?"([^"]*)"')


def test_interpreter_opens_no_file_but_the_program():
    program = os.path.realpath(_path("EMBED_CHECK"))
    lines = _strace(program, "strace")
    mark = next(i for i, line in enumerate(lines) if "RPS-EMBED-MARK" in line)
    output = [line for line in lines[mark:] if "RPS_EMBED_" in line]
    assert len(output) == 6 and all("RPS_EMBED_OK" in line for line in output), output
    paths = {match.group(2) for line in lines[mark:] if (match := _PATH_ARGUMENT.match(line))}
    # /proc/self/exe names the program; /etc/localtime is the C library's time zone (tzset(), which
    # CPython's time module calls); "" is fstatat of an open descriptor.
    assert paths - {program, "/proc/self/exe", "/etc/localtime", ""} == set(), sorted(paths)
    assert any('readlink("/proc/self/exe"' in line for line in lines[mark:])  # the trace covers the start


# --- The shared object, loaded by a program built outside Bazel -------------------------------

@pytest.fixture(scope="module")
def shared_object_program(tmp_path_factory) -> dict[str, str]:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no host C compiler (cc) on PATH: the shared object test builds its program outside Bazel")
    shared = next(Path(p) for p in os.environ["SHARED_LIBRARY"].split() if p.endswith(".so"))
    include = Path(_path("EMBED_HEADER")).parents[1]
    work = tmp_path_factory.mktemp("plain_cc")
    library_dir = work / "lib"
    library_dir.mkdir()
    shutil.copy(shared, library_dir / "libembedded.so")
    programs = {}
    for name, defines in (("embed_check", []), ("interposition", ["-DHOST_ZLIB"])):
        out = work / name
        command = [cc, *defines, "-I", str(include), _path("EMBED_CHECK_SOURCE"), "-o", str(out),
                   "-L", str(library_dir), "-lembedded", f"-Wl,-rpath,{library_dir}", "-lpthread"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}"
        programs[name] = str(out)
    programs["shared"] = str(library_dir / "libembedded.so")
    return programs


def test_shared_object_exports_only_the_api():
    shared = next(p for p in os.environ["SHARED_LIBRARY"].split() if p.endswith(".so"))
    report = audit.audit(shared, "linux_x86_64_gnu", exported_symbols=["rps_embed_*"])
    assert report.ok, report.to_text()
    assert report.facts["exported_symbols"] == API


def test_shared_object_from_a_plain_cc_program(shared_object_program):
    _check_calls(shared_object_program["embed_check"])
    _check_bad_input(shared_object_program["embed_check"])


def test_shared_object_keeps_its_zlib_and_the_hosts(shared_object_program):
    output = _run(shared_object_program["interposition"], "interposition").stdout
    assert "host zlibVersion: the host's zlib" in output
    status, text = _calls(output)["library zlib"]
    assert status == "RPS_EMBED_OK" and re.fullmatch(r"str \d+ 1\.\d+\.\d+ ok", text), text


def test_static_library_keeps_its_zlib_and_the_hosts():
    """The host defines zlibVersion itself: no duplicate symbol at its link, and each side keeps
    its own (tools/prelink made the library's symbols local)."""
    output = _run(_path("INTERPOSITION_STATIC"), "interposition").stdout
    assert "host zlibVersion: the host's zlib" in output
    status, text = _calls(output)["library zlib"]
    assert status == "RPS_EMBED_OK" and re.fullmatch(r"str \d+ 1\.\d+\.\d+ ok", text), text


def test_pypi_packages_with_c_extensions():
    result = _run(_path("PYPI_CHECK"))
    assert result.stdout == "RPS_EMBED_OK: &lt;b&gt;&amp;&lt;/b&gt;|libyaml=True|markupsafe._speedups\n"
    # Their extension modules bind to the program's C API, and only to it: nothing of the
    # distribution's own libraries is exported (tools/prelink kept Py*/_Py* global, nothing else).
    exports = audit.audit(_path("PYPI_CHECK"), "linux_x86_64_gnu", exported_symbols=["Py*", "_Py*", "PY_TIMEOUT_MAX", "*"])
    names = exports.facts["exported_symbols"]
    assert "PyModule_Create2" in names or "PyModuleDef_Init" in names
    leaked = [n for n in names if n.startswith(("SSL_", "EVP_", "inflate", "deflate", "sqlite3_", "ffi_", "XML_"))]
    assert leaked == []
