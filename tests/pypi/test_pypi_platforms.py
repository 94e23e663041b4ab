"""The other platforms: an aarch64 binary gets the aarch64 wheels of its C-extension packages and
loads them (under qemu-user); a binary for the glibc 2.28 platform is held to its floor and runs."""

import os
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from tests.qemu_sysroot import arm64_sysroot
from tools.audit import audit
from tools.formats import resources

EXPECTED = "&lt;i&gt;&amp;&lt;/i&gt; [1, {'a': 'b'}] True True\n"


def _packed_extension_machines(binary: Path) -> dict[str, int]:
    """e_machine of every extension module the binary's packed resources hold."""
    data = binary.read_bytes()
    start = 0
    while (start := data.find(resources.MAGIC, start)) >= 0:
        size = int.from_bytes(data[start + 16:start + 24], "little")
        try:
            blob = resources.Blob(data[start:start + size])
            break
        except resources.FormatError:
            start += 1
    machines = {}
    for record in blob.tables["modules"]:
        if record.flags & resources.EXTENSION:
            payload, _ = blob.payload(record)
            machines[record.name] = int.from_bytes(bytes(payload[18:20]), "little")
    return machines


def test_x86_64_binary_runs():
    done = subprocess.run([os.environ["YAML_MARKUP"]], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, EXPECTED), done.stderr


def test_aarch64_binary_loads_aarch64_wheels_under_qemu(tmp_path):
    binary = Path(os.environ["YAML_MARKUP_AARCH64"])
    with binary.open("rb") as f:
        assert ELFFile(f)["e_machine"] == "EM_AARCH64"
    machines = _packed_extension_machines(binary)
    assert {"markupsafe._speedups", "yaml._yaml"} <= set(machines)
    assert set(machines.values()) == {183}  # EM_AARCH64: the aarch64 wheels, no x86_64 one
    sysroot = arm64_sysroot(Path(os.environ["ARM64_LIBC"]), tmp_path)
    done = subprocess.run([os.environ["QEMU_AARCH64"], "-L", sysroot, binary], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout) == (0, EXPECTED), done.stderr


def test_glibc_2_28_platform_binary_is_audited_against_its_floor_and_runs():
    binary = Path(os.environ["YAML_MARKUP_GLIBC_2_28"])
    done = subprocess.run([binary], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, EXPECTED), done.stderr
    report = audit.audit(binary, "linux_x86_64_gnu_2_28")
    assert report.ok, report.to_text()
    machines = _packed_extension_machines(binary)
    assert {"markupsafe._speedups", "yaml._yaml"} <= set(machines) and set(machines.values()) == {62}  # EM_X86_64
