"""Tests of tools/audit: every rule against a fixture that breaks it, built here with the hermetic zig.

The fixtures are compiled by the test (never committed): ZIG_CC is the zig SDK's
bin/x86_64-linux-gnu.2.17/cc wrapper; the other targets go through the same SDK's zig. A fixture
whose rule no zig flag produces (an executable stack, a writable+executable segment) is a clean
build with one program header flag changed.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tools.audit import audit

HOST_LIBSTDCXX = Path("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
HOST_LIBZ = Path("/usr/lib/x86_64-linux-gnu/libz.so.1")
_PF_X, _PF_W = 0x1, 0x2

HELLO = '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n'
# strlcpy first appeared in glibc 2.38.
NEW_GLIBC = ('#include <stdio.h>\n#include <string.h>\n'
             'int main(int argc, char **argv) { char b[8]; strlcpy(b, argv[0], sizeof b); puts(b); return argc - 1; }\n')
# operator new from libstdc++ and zlibVersion from libz, declared by hand: no host headers.
CXX_AND_ZLIB = ('#include <stdio.h>\nextern const char *zlibVersion(void);\nextern void *_Znwm(unsigned long);\n'
                'int main(void) { printf("%s %p\\n", zlibVersion(), _Znwm(8)); return 0; }\n')
DBGHELP = ('#include <windows.h>\n#include <dbghelp.h>\n#include <stdio.h>\n'
           'int main(void) { printf("%u\\n", (unsigned)SymGetOptions()); return 0; }\n')


class Zig:
    """Builds fixtures once per session; the zig caches are shared by every target."""

    # Targets with a wrapper in the SDK (bin/<target>/cc); the others call zig itself.
    WRAPPED = ("x86_64-linux-gnu.2.17", "x86_64-linux-musl")

    def __init__(self, cc: str, work: Path) -> None:
        self.root = Path(os.path.realpath(cc)).parents[2]
        self.work = work
        cache = str(work / "rps-zig-cache")
        self.env = dict(os.environ, TMPDIR=str(work), ZIG_GLOBAL_CACHE_DIR=cache, ZIG_LOCAL_CACHE_DIR=cache,
                        ZIG_LIB_DIR=str(self.root / "ziglang" / "lib"))
        self.built: dict[str, Path] = {}

    def build(self, name: str, target: str, source: str, *flags: str) -> Path:
        if name in self.built:
            return self.built[name]
        src = self.work / f"{name}.c"
        src.write_text(source)
        out = self.work / name
        if target in self.WRAPPED:
            command = [str(self.root / "bin" / target / "cc")]
        else:
            command = [str(self.root / "ziglang" / "zig"), "cc", "-target", target]
        result = subprocess.run([*command, str(src), "-o", str(out), *flags], env=self.env,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            pytest.fail(f"building fixture {name} for {target} failed:\n{result.stderr}")
        self.built[name] = out
        return out


@pytest.fixture(scope="session")
def zig(tmp_path_factory: pytest.TempPathFactory) -> Zig:
    cc = os.environ.get("ZIG_CC")  # the target sets it (tests/tools/BUILD.bazel)
    if not cc:
        pytest.skip("no zig: set ZIG_CC to the zig SDK's bin/x86_64-linux-gnu.2.17/cc wrapper")
    return Zig(cc, tmp_path_factory.mktemp("fixtures"))


@pytest.fixture(scope="session")
def hello_gnu(zig: Zig) -> Path:
    return zig.build("hello_gnu", "x86_64-linux-gnu.2.17", HELLO)


@pytest.fixture(scope="session")
def hello_musl(zig: Zig) -> Path:
    return zig.build("hello_musl", "x86_64-linux-musl", HELLO, "-static")


@pytest.fixture(scope="session")
def cxx_and_zlib(zig: Zig) -> Path:
    for library in (HOST_LIBSTDCXX, HOST_LIBZ):
        if not library.exists():
            pytest.skip(f"{library} is not installed on this host (the fixture links against it)")
    return zig.build("cxx_and_zlib", "x86_64-linux-gnu.2.17", CXX_AND_ZLIB, str(HOST_LIBSTDCXX), str(HOST_LIBZ))


@pytest.fixture(scope="session")
def hello_pe(zig: Zig) -> Path:
    return zig.build("hello.exe", "x86_64-windows-gnu", HELLO)


@pytest.fixture(scope="session")
def dbghelp_pe(zig: Zig) -> Path:
    return zig.build("dbghelp.exe", "x86_64-windows-gnu", DBGHELP, "-ldbghelp")


def patched(original: Path, tmp_path: Path, p_type: str, add_flags: int, also: int = 0) -> Path:
    """A copy of `original` whose first `p_type` segment (having all of `also`) gains `add_flags`."""
    copy = tmp_path / f"{original.name}-{p_type}-{add_flags}"
    copy.write_bytes(original.read_bytes())
    with open(copy, "r+b") as f:
        elf = ELFFile(f)
        for index, segment in enumerate(elf.iter_segments()):
            if segment["p_type"] == p_type and segment["p_flags"] & also == also:
                # p_flags is the 32-bit field right after p_type in an Elf64_Phdr.
                offset = elf["e_phoff"] + index * elf["e_phentsize"] + 4
                flags = segment["p_flags"] | add_flags
                break
        else:
            raise AssertionError(f"{original} has no {p_type} segment")
        f.seek(offset)
        f.write(flags.to_bytes(4, "little" if elf.little_endian else "big"))
    return copy


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = audit.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def checks(report: audit.Report) -> list[str]:
    return [v.check for v in report.violations]


# --- policies ------------------------------------------------------------------------------


def test_builtin_policies_load():
    names = audit.builtin_policy_names()
    assert names == ["linux_aarch64_gnu", "linux_x86_64_gnu", "linux_x86_64_gnu_2_28", "linux_x86_64_musl", "windows_x86_64"]
    gnu = audit.load_policy("linux_x86_64_gnu")
    assert gnu.machine == "EM_X86_64" and gnu.max_symbol_versions == {"GLIBC": "2.17"}
    newer = audit.load_policy("linux_x86_64_gnu_2_28")
    # glibc 2.22 and newer also have the vector math library (soundfile's libsndfile needs it).
    assert newer.max_symbol_versions == {"GLIBC": "2.28"}
    assert set(newer.allowed_libraries) == set(gnu.allowed_libraries) | {"libmvec.so.1"}
    assert "ld-linux-x86-64.so.2" in gnu.allowed_libraries and "libstdc++.so.6" not in gnu.allowed_libraries
    arm = audit.load_policy("linux_aarch64_gnu")
    assert arm.machine == "EM_AARCH64" and "ld-linux-aarch64.so.1" in arm.allowed_libraries
    assert audit.load_policy("linux_x86_64_musl").static
    windows = audit.load_policy("windows_x86_64")
    assert windows.allows_library("kernel32.DLL") and windows.allows_library("api-ms-win-crt-heap-l1-1-0.dll")
    assert not windows.allows_library("dbghelp.dll")


def test_allowlist_wildcards_and_case():
    gnu = audit.load_policy("linux_x86_64_gnu").with_libraries(["libz.so.*"])
    assert gnu.allows_library("libz.so.1") and not gnu.allows_library("LIBZ.so.1")  # ELF names are exact
    assert gnu.added_libraries == ("libz.so.*",)


@pytest.mark.parametrize("doc, message", [
    ([], "expected a JSON object"),
    ({"name": "x", "format": "macho", "machine": "m", "allowed_libraries": []}, "neither 'elf' nor 'pe'"),
    ({"name": "x", "format": "elf", "machine": "EM_X86_64", "allowed_libraries": [], "colour": 1}, "unknown key(s)"),
    ({"name": "x", "format": "elf", "machine": "EM_X86_64"}, "allowed_libraries: missing"),
    ({"name": "x", "format": "elf", "machine": "EM_X86_64", "allowed_libraries": [],
      "max_symbol_versions": {"GLIBC": "new"}}, 'expected a version like "2.17"'),
    ({"name": "x", "format": "elf", "machine": "EM_X86_64", "allowed_libraries": [],
      "require": {"pie": True}}, "unknown rule(s) pie"),
    ({"name": "x", "format": "pe", "machine": "IMAGE_FILE_MACHINE_AMD64", "allowed_libraries": [],
      "subsystem": "IMAGE_SUBSYSTEM_TOASTER"}, "unknown subsystem"),
])
def test_bad_policy_documents_name_the_key(doc, message):
    with pytest.raises(audit.AuditError, match="policy test.json") as err:
        audit.parse_policy(doc, "test.json")
    assert message in str(err.value)


def test_unknown_policy_name_lists_the_builtins(tmp_path, capsys):
    target = tmp_path / "x"
    target.write_bytes(b"\x7fELF")
    code, out, err = run(capsys, target, "--policy", "linux_riscv")
    assert code == 2 and "unknown policy 'linux_riscv'" in err and "linux_x86_64_gnu" in err


def test_policy_file_that_is_not_json(tmp_path, capsys):
    (tmp_path / "p.json").write_text("{")
    (tmp_path / "x").write_bytes(b"\x7fELF")
    code, _, err = run(capsys, tmp_path / "x", "--policy", tmp_path / "p.json")
    assert code == 2 and "is not valid JSON" in err


# --- files that cannot be audited ------------------------------------------------------------


def _assert_clear_error(code: int, out: str, err: str, expected: str) -> None:
    assert code == 2
    assert "Traceback" not in out + err
    assert err.startswith("audit: ") and err.count("\n") == 1, err
    assert expected in err, err


@pytest.mark.parametrize("content, expected", [
    (b"", "the file is empty"),
    (bytes(range(7, 250)) * 20, "neither an ELF nor a PE file (it starts with bytes 07 08 09 0a)"),
    (b"MZ\0\0not a PE file", "not a valid PE file"),
    (b"\x7fELF\2\1\1" + b"\0" * 9, "ELF file"),
])
def test_unusable_bytes_are_a_clear_error(tmp_path, capsys, content, expected):
    target = tmp_path / "input"
    target.write_bytes(content)
    _assert_clear_error(*run(capsys, target), expected)


def test_missing_file_and_directory(tmp_path, capsys):
    _assert_clear_error(*run(capsys, tmp_path / "missing"), "no such file")
    _assert_clear_error(*run(capsys, tmp_path), "is a directory")


def test_error_with_json_prints_an_error_document(tmp_path, capsys):
    code, out, err = run(capsys, tmp_path / "missing", "--json")
    assert code == 2 and "no such file" in err
    doc = json.loads(out)
    assert doc["ok"] is False and "no such file" in doc["error"] and doc["version"] == 1


@pytest.mark.parametrize("keep", [100, 2000, "half"])
def test_truncated_elf(hello_gnu, tmp_path, capsys, keep):
    data = hello_gnu.read_bytes()
    target = tmp_path / "truncated"
    target.write_bytes(data[:len(data) // 2 if keep == "half" else keep])
    _assert_clear_error(*run(capsys, target), "truncated")


@pytest.mark.parametrize("keep", [100, 3000])
def test_truncated_pe(hello_pe, tmp_path, capsys, keep):
    target = tmp_path / "truncated.exe"
    target.write_bytes(hello_pe.read_bytes()[:keep])
    code, out, err = run(capsys, target)
    _assert_clear_error(code, out, err, "PE file")


# --- ELF, glibc targets ----------------------------------------------------------------------


def test_clean_gnu_binary_passes_and_names_the_policy(hello_gnu, capsys):
    code, out, err = run(capsys, hello_gnu)
    assert (code, err) == (0, "")
    assert "policy linux_x86_64_gnu (chosen from the file: ELF64 EM_X86_64, glibc)" in out
    assert "ok: no violations" in out and "libc.so.6" in out


def test_libstdcxx_and_libz_are_not_allowed(cxx_and_zlib):
    report = audit.audit(cxx_and_zlib)
    assert not report.ok and report.policy.name == "linux_x86_64_gnu"
    by_subject = {v.subject: v for v in report.violations if v.check == "library"}
    assert set(by_subject) == {"libstdc++.so.6", "libz.so.1"}
    cxx = by_subject["libstdc++.so.6"]
    assert "not in policy linux_x86_64_gnu's allowed libraries" in cxx.message
    assert "_Znwm@GLIBCXX_3.4" in cxx.origin and "-static-libstdc++" in cxx.fix
    assert "libc.so.6" in cxx.limit
    assert "--allow-library" in by_subject["libz.so.1"].fix
    [glibcxx] = [v for v in report.violations if v.check == "forbidden_symbol_version"]
    assert glibcxx.version == "GLIBCXX_3.4" and glibcxx.subject == "_Znwm" and glibcxx.limit == "no GLIBCXX_*"
    assert "from libstdc++.so.6" in glibcxx.message


def test_allow_library_extends_the_allowlist(cxx_and_zlib, capsys):
    code, out, _ = run(capsys, cxx_and_zlib, "--allow-library", "libstdc++.so.6", "--allow-library", "libz.so.*")
    assert code == 1  # the GLIBCXX symbol versions stay forbidden
    assert "also allowing libstdc++.so.6, libz.so.*" in out
    assert "[library]" not in out and "[forbidden_symbol_version]" in out


def test_symbol_newer_than_glibc_2_17(zig):
    binary = zig.build("new_glibc", "x86_64-linux-gnu.2.38", NEW_GLIBC)
    report = audit.audit(binary)
    assert report.facts["highest_symbol_versions"]["GLIBC"] == "2.38"
    [strlcpy] = [v for v in report.violations if v.version == "GLIBC_2.38"]
    assert strlcpy.check == "symbol_version" and strlcpy.subject == "strlcpy" and strlcpy.limit == "GLIBC_2.17"
    assert "symbol strlcpy needs GLIBC_2.38 from libc.so.6" in strlcpy.message
    assert "glibc 2.17" in strlcpy.fix and "x86_64-linux-gnu.2.17" in strlcpy.fix
    assert set(checks(report)) == {"symbol_version"}


def test_rpath(zig, capsys):
    binary = zig.build("rpath", "x86_64-linux-gnu.2.17", HELLO, "-Wl,-rpath,/opt/x")
    code, out, _ = run(capsys, binary)
    assert code == 1
    assert "RUNPATH '/opt/x'" in out and "remove the RPATH" in out


def test_executable_stack(hello_gnu, tmp_path):
    report = audit.audit(patched(hello_gnu, tmp_path, "PT_GNU_STACK", _PF_X))
    assert checks(report) == ["exec_stack"]
    assert "-z noexecstack" in report.violations[0].fix


def test_writable_and_executable_segment(hello_gnu, tmp_path):
    report = audit.audit(patched(hello_gnu, tmp_path, "PT_LOAD", _PF_W, also=_PF_X))
    assert checks(report) == ["wx_segment"]


def test_lazy_binding(zig):
    report = audit.audit(zig.build("lazy", "x86_64-linux-gnu.2.17", HELLO, "-Wl,-z,lazy"))
    assert checks(report) == ["bind_now"] and "-z now" in report.violations[0].fix


def test_no_relro(zig):
    report = audit.audit(zig.build("norelro", "x86_64-linux-gnu.2.17", HELLO, "-Wl,-z,norelro"))
    assert "relro" in checks(report)


def test_machine_must_match_the_policy(hello_gnu):
    report = audit.audit(hello_gnu, "linux_aarch64_gnu")
    assert checks(report) == ["machine"]
    assert report.chosen_by == "named by the caller"
    assert "EM_X86_64" in report.violations[0].message and report.violations[0].limit == "EM_AARCH64"


def _with_machine(original: Path, tmp_path: Path, e_machine: int) -> Path:
    copy = tmp_path / f"{original.name}-machine-{e_machine}"
    data = bytearray(original.read_bytes())
    data[18:20] = e_machine.to_bytes(2, "little")  # e_machine in the ELF header
    copy.write_bytes(bytes(data))
    return copy


def test_policy_chosen_by_machine(hello_musl, tmp_path, capsys):
    # A static aarch64 file gets the machine's only policy; a machine without one is an error.
    report = audit.audit(_with_machine(hello_musl, tmp_path, 183))  # EM_AARCH64
    assert report.policy.name == "linux_aarch64_gnu" and report.chosen_by == "chosen from the file: ELF64 EM_AARCH64, static"
    _assert_clear_error(*run(capsys, _with_machine(hello_musl, tmp_path, 243)), "no built-in policy for ELF64 EM_RISCV")


def test_elf_file_with_a_pe_policy(hello_gnu, capsys):
    _assert_clear_error(*run(capsys, hello_gnu, "--policy", "windows_x86_64"), "policy windows_x86_64 is for PE files")


def test_policy_file_with_the_rule_switched_off(zig, tmp_path):
    binary = zig.build("rpath", "x86_64-linux-gnu.2.17", HELLO, "-Wl,-rpath,/opt/x")
    doc = json.loads((audit.POLICY_DIR / "linux_x86_64_gnu.json").read_text())
    doc["name"] = "relaxed"
    doc["require"]["no_rpath"] = False
    (tmp_path / "relaxed.json").write_text(json.dumps(doc))
    report = audit.audit(binary, str(tmp_path / "relaxed.json"))
    assert report.ok and report.policy.name == "relaxed" and report.policy.source == str(tmp_path / "relaxed.json")


# --- ELF, musl targets -----------------------------------------------------------------------


def test_static_musl_binary_passes(hello_musl):
    report = audit.audit(hello_musl)
    assert report.ok, report.to_text()
    assert report.policy.name == "linux_x86_64_musl" and "static" in report.chosen_by
    assert report.facts["libraries"] == [] and report.facts["static"]


def test_gnu_binary_under_the_musl_policy(hello_gnu):
    report = audit.audit(hello_gnu, "linux_x86_64_musl")
    assert sorted(checks(report)) == ["interpreter", "library"]
    library = next(v for v in report.violations if v.check == "library")
    assert library.subject == "libc.so.6" and library.limit == "no DT_NEEDED"
    assert "x86_64-linux-musl" in library.fix
    assert "ld-linux-x86-64.so.2" in next(v for v in report.violations if v.check == "interpreter").message


# --- PE --------------------------------------------------------------------------------------


def test_clean_pe_passes(hello_pe, capsys):
    code, out, _ = run(capsys, hello_pe)
    assert code == 0, out
    assert "policy windows_x86_64 (chosen from the file: PE IMAGE_FILE_MACHINE_AMD64)" in out


def test_pe_importing_a_dll_outside_the_allowlist(dbghelp_pe):
    report = audit.audit(dbghelp_pe)
    assert checks(report) == ["dll"]
    [dll] = report.violations
    assert dll.subject == "dbghelp.dll" and "SymGetOptions" in dll.origin
    assert "not in policy windows_x86_64's allowed DLLs" in dll.message and "KERNEL32.dll" in dll.limit


def test_pe_allow_library_is_case_insensitive(dbghelp_pe, capsys):
    code, out, _ = run(capsys, dbghelp_pe, "--allow-library", "DBGHELP.DLL")
    assert code == 0, out


def test_pe_gui_subsystem(zig):
    report = audit.audit(zig.build("gui.exe", "x86_64-windows-gnu", HELLO, "-Wl,--subsystem,windows"))
    assert checks(report) == ["subsystem"]
    assert report.violations[0].subject == "IMAGE_SUBSYSTEM_WINDOWS_GUI"


# --- CLI outputs -----------------------------------------------------------------------------


def test_json_output(cxx_and_zlib, capsys):
    code, out, _ = run(capsys, cxx_and_zlib, "--json", "--allow-library", "libz.so.1")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False
    assert set(doc) == {"version", "file", "ok", "format", "machine", "architecture", "policy", "facts", "violations"}
    assert (doc["format"], doc["machine"], doc["architecture"]) == ("elf", "EM_X86_64", "x86_64")
    assert doc["policy"] == {
        "name": "linux_x86_64_gnu",
        "description": audit.load_policy("linux_x86_64_gnu").description,
        "source": "built-in:linux_x86_64_gnu",
        "chosen_by": "chosen from the file: ELF64 EM_X86_64, glibc",
        "added_libraries": ["libz.so.1"],
    }
    assert doc["facts"]["libraries"] == ["libstdc++.so.6", "libz.so.1", "libc.so.6"]
    for violation in doc["violations"]:
        assert set(violation) == {"check", "subject", "message", "fix", "version", "limit", "origin"}
    assert [v["subject"] for v in doc["violations"] if v["check"] == "library"] == ["libstdc++.so.6"]


def test_stamp_is_written_only_on_success(hello_gnu, cxx_and_zlib, tmp_path, capsys):
    stamp = tmp_path / "ok.stamp"
    code, out, err = run(capsys, hello_gnu, "--stamp", stamp)
    assert (code, out, err) == (0, "", "")
    assert "ok: no violations" in stamp.read_text()
    failed = tmp_path / "failed.stamp"
    code, out, _ = run(capsys, cxx_and_zlib, "--stamp", failed)
    assert code == 1 and "[library]" in out and not failed.exists()


# A shared object with an API (api_*) and a helper that leaks out unless hidden.
SHARED_OBJECT = ('int helper_leaked(int x) { return x + 1; }\n'
                 'int api_call(int x) { return helper_leaked(x) * 2; }\n')


def test_shared_object_exports_only_its_api(zig, tmp_path, capsys):
    script = tmp_path / "exports.map"
    script.write_text("{ global: api_*; local: *; };\n")
    clean = zig.build("api.so", "x86_64-linux-gnu.2.17", SHARED_OBJECT, "-shared", "-fPIC", "-Wl,-z,now",
                      f"-Wl,--version-script={script}")
    report = audit.audit(clean, exported_symbols=["api_*"])
    assert report.ok, report.to_text()
    assert report.facts["exported_symbols"] == ["api_call"]
    leaky = zig.build("leaky.so", "x86_64-linux-gnu.2.17", SHARED_OBJECT, "-shared", "-fPIC", "-Wl,-z,now")
    report = audit.audit(leaky, exported_symbols=["api_*"])
    assert checks(report) == ["exported_symbol"]
    assert "helper_leaked" in report.violations[0].message and "version script" in report.violations[0].fix
    code, out, _ = run(capsys, str(leaky), "--exported-symbol", "api_*")
    assert code == 1 and "[exported_symbol]" in out
    # Without the option, exports are not the audit's business (executables export what they need).
    assert audit.audit(leaky).ok
