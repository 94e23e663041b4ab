"""Tests of tools/prelink on objects built here with the hermetic zig (ZIG_CC: the SDK's cc wrapper)."""

import os
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from tools.prelink import prelink

# The library: an API function, a helper named like one of the host's, a common symbol (-fcommon)
# and an archive member pulled in by a reference.
LIBRARY = ('int helper(void) { return 40; }\nint counter;\nint zeroed = 0;\n'
           'extern int archived(void);\nint api_value(void) { counter++; return helper() + archived() + counter; }\n')
ARCHIVED = "int archived(void) { return 1; }\nint unused_in_archive(void) { return 7; }\n"
# The host defines `helper` too: without prelink, a duplicate symbol.
HOST = ('#include <stdio.h>\nint helper(void) { return 1000; }\nint api_value(void);\n'
        'int main(void) { printf("%d %d\\n", helper(), api_value()); return 0; }\n')


@pytest.fixture(scope="module")
def tools(tmp_path_factory):
    cc = os.environ.get("ZIG_CC")
    if not cc:
        pytest.skip("no zig: set ZIG_CC to the zig SDK's bin/x86_64-linux-gnu.2.17/cc wrapper")
    cc = os.path.abspath(cc)
    work = tmp_path_factory.mktemp("prelink")
    env = dict(os.environ, TMPDIR=str(work))
    return cc, str(Path(cc).with_name("ld")), str(Path(cc).with_name("ar")), work, env


def _compile(tools, name, source, *flags):
    cc, _, _, work, env = tools
    (work / f"{name}.c").write_text(source)
    out = work / f"{name}.o"
    subprocess.run([cc, "-c", "-fPIC", "-O2", "-fno-sanitize=undefined", *flags, str(work / f"{name}.c"), "-o", str(out)], check=True, env=env)
    return out


def test_only_kept_symbols_stay_global_and_the_host_keeps_its_own(tools):
    cc, ld, ar, work, env = tools
    library = _compile(tools, "library", LIBRARY, "-fcommon")
    archived = _compile(tools, "archived", ARCHIVED)
    archive = work / "libarchived.a"
    subprocess.run([ar, "rcs", str(archive), str(archived)], check=True, env=env)
    params = work / "link.params"
    params.write_text(f"{archive}\n-lm\n")
    out, libs = work / "prelinked.o", work / "libs.params"
    code = prelink.main(["--ld", ld, "--out", str(out), "--system-libraries-out", str(libs), "--params", str(params),
                         "--keep", "api_*", str(library)])
    assert code == 0
    assert libs.read_text() == "-lm\n"
    with open(out, "rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        binding = {s.name: s["st_info"]["bind"] for s in table.iter_symbols() if s.name}
        bss = {s.name: s["st_shndx"] for s in table.iter_symbols() if s.name == "counter"}
    assert binding["api_value"] == "STB_GLOBAL"
    assert {binding[n] for n in ("helper", "archived", "counter", "zeroed")} == {"STB_LOCAL"}
    assert bss["counter"] != "SHN_COMMON"  # given space in .bss
    host = _compile(tools, "host", HOST)
    program = work / "host"
    subprocess.run([cc, str(host), str(out), "-lm", "-o", str(program)], check=True, env=env)
    # The host's helper is its own (1000); the library's helper is its own: 40 + 1 + 1.
    assert subprocess.run([str(program)], capture_output=True, text=True, check=True).stdout == "1000 42\n"


def test_errors_name_the_input(tools, tmp_path, capsys):
    _, ld, _, _, _ = tools
    only_common = _compile(tools, "only_common", "int lonely;\nint api_f(void) { return lonely; }\n", "-fcommon")
    code = prelink.main(["--ld", ld, "--out", str(tmp_path / "c.o"), "--system-libraries-out", str(tmp_path / "l"),
                         "--keep", "api_*", str(only_common)])
    assert code == 1 and "common symbols but no .bss section" in capsys.readouterr().err
    not_elf = tmp_path / "not_elf.o"
    not_elf.write_bytes(b"not an object")
    code = prelink.main(["--ld", ld, "--out", str(tmp_path / "o.o"), "--system-libraries-out", str(tmp_path / "l"),
                         str(not_elf)])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ld -r failed") and "not_elf.o" in err
    with pytest.raises(prelink.PrelinkError, match="not a relocatable object"):
        prelink.localize(bytearray(b"\x7fELF\x02\x01" + bytes(10) + b"\x02\x00" + bytes(46)), lambda name: False, "exe")
    with pytest.raises(prelink.PrelinkError, match="not a 64-bit little-endian ELF file"):
        prelink.localize(bytearray(b"MZ" + bytes(62)), lambda name: False, "x.o")
