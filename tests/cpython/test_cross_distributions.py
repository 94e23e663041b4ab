"""The musl and aarch64 CPython distributions: well-formed, within their ABI limits, and running.

Environment (runfiles paths): MUSL_DIST and AARCH64_DIST, the distributions' directories;
QEMU_AARCH64; ARM64_LIBC, the arm64 libc.so.6 (its package is the sysroot qemu loads the aarch64 interpreter's libraries from);
HELLO_MUSL, STDLIB_TOUR_MUSL, HELLO_AARCH64: standalone binaries built for those platforms;
PYTHON_VERSION: their CPython's X.Y (one test target per version, tests/cpython/BUILD.bazel).
"""

import os
import subprocess
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from tests.qemu_sysroot import arm64_sysroot
from tools.formats import python_json

MUSL, AARCH64, QEMU, SYSROOT_FILE = (
    Path(os.environ[name]).resolve() for name in ("MUSL_DIST", "AARCH64_DIST", "QEMU_AARCH64", "ARM64_LIBC")
)
# ctypes is left out for musl: a fully static musl program cannot dlopen, so `import ctypes`
# (which opens the program itself) fails there; it is imported on aarch64 below.
SMOKE = (
    "import sys, math, ssl, sqlite3, lzma, bz2, zlib, decimal, json, uuid, hashlib;"
    "print(sys.version_info[:2], ssl.OPENSSL_VERSION.split()[1], sqlite3.sqlite_version,"
    " hashlib.sha256(b'x').hexdigest()[:8], decimal.Decimal(1) / 7);"
    "print(repr(math.log2(1e-308)))"
)
GLIBC_LOG2 = "-1023.1538532253076"
VERSION = os.environ.get("PYTHON_VERSION", "3.13")
VERSION_TUPLE = "(%s, %s)" % tuple(VERSION.split("."))
HELLO_OUTPUT = f"Hello from Python {VERSION}!\n"
# 3.14+: compression.zstd, with libzstd built into libpython.
ZSTD_SMOKE = "import sys; from compression import zstd; print(zstd.decompress(zstd.compress(b'x' * 99)) == b'x' * 99, '_zstd' in sys.builtin_module_names)"



def _dist(root: Path) -> python_json.Distribution:
    return python_json.load(root / "PYTHON.json")


def _elf(path: Path) -> tuple[str, bool, list[str]]:
    with path.open("rb") as f:
        elf = ELFFile(f)
        interp = any(s["p_type"] == "PT_INTERP" for s in elf.iter_segments())
        needed = [t.needed for s in elf.iter_sections() if isinstance(s, DynamicSection)
                  for t in s.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
        return elf["e_machine"], interp, needed


def test_musl_distribution_is_fully_static_and_runs() -> None:
    dist = _dist(MUSL)
    assert dist.target_triple == "x86_64-unknown-linux-musl"
    assert dist.crt_features == ("static",)
    machine, interp, needed = _elf(MUSL / dist.python_exe)
    assert (machine, interp, needed) == ("EM_X86_64", False, [])
    done = subprocess.run([MUSL / dist.python_exe, "-I", "-c", SMOKE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{VERSION_TUPLE} 3.0.20 3.46.1 2d711642 0.1428571428571428571428571429")
    if tuple(int(p) for p in VERSION.split(".")) >= (3, 14):
        done = subprocess.run([MUSL / dist.python_exe, "-I", "-c", ZSTD_SMOKE], capture_output=True, text=True, timeout=120)
        assert (done.returncode, done.stdout) == (0, "True True\n"), done.stderr


@pytest.mark.xfail(strict=True, reason="zig ships musl without its libm transcendentals and uses "
                   "compiler_rt's log2, wrong for subnormals (docs/toolchain.md)")
def test_musl_log2_of_a_subnormal() -> None:
    dist = _dist(MUSL)
    done = subprocess.run([MUSL / dist.python_exe, "-I", "-c", SMOKE], capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[-1] == GLIBC_LOG2


def test_aarch64_distribution_needs_glibc_2_17_and_runs_under_qemu(tmp_path: Path) -> None:
    dist = _dist(AARCH64)
    assert dist.target_triple == "aarch64-unknown-linux-gnu"
    assert dist.glibc_max_symbol_version is not None and dist.glibc_max_symbol_version <= (2, 17)
    machine, interp, needed = _elf(AARCH64 / dist.python_exe)
    assert machine == "EM_AARCH64" and interp
    assert set(needed) <= {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
                           "libutil.so.1", "ld-linux-aarch64.so.1"}, needed
    sysroot = arm64_sysroot(SYSROOT_FILE, tmp_path)
    done = subprocess.run([QEMU, "-L", sysroot, os.environ["HELLO_AARCH64"]], capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout) == (0, HELLO_OUTPUT), done.stderr
    assert _elf(Path(os.environ["HELLO_AARCH64"]))[0] == "EM_AARCH64"
    done = subprocess.run([QEMU, "-L", sysroot, AARCH64 / dist.python_exe, "-I", "-c", "import ctypes;" + SMOKE],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, log2 = done.stdout.splitlines()
    assert first.startswith(f"{VERSION_TUPLE} 3.0.20 3.46.1 2d711642")
    assert log2 == GLIBC_LOG2


def test_musl_standalone_binaries_are_static_and_run(tmp_path: Path) -> None:
    for name in ("HELLO_MUSL", "STDLIB_TOUR_MUSL"):
        machine, interp, needed = _elf(Path(os.environ[name]))
        assert (machine, interp, needed) == ("EM_X86_64", False, []), name
    done = subprocess.run(["env", "-i", Path(os.environ["HELLO_MUSL"]).resolve()], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert (done.returncode, done.stdout) == (0, HELLO_OUTPUT), done.stderr
    done = subprocess.run([Path(os.environ["STDLIB_TOUR_MUSL"]).resolve()], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ctypes: unavailable in a static binary" in done.stdout and "multiprocessing forkserver: [0, 1, 4, 9, 16]" in done.stdout
