"""A sysroot for qemu-aarch64 from Debian's arm64 libc6 package (tests/cpython/debian_debs.bzl)."""

from pathlib import Path


def arm64_sysroot(libc: Path, directory: Path) -> Path:
    """`libc` is <package>/usr/lib/aarch64-linux-gnu/libc.so.6. The package is merged-/usr and
    the interpreter asks for /lib/ld-linux-aarch64.so.1, so the sysroot gets lib -> usr/lib."""
    package = libc.resolve().parents[3]
    sysroot = directory / "sysroot"
    sysroot.mkdir()
    (sysroot / "usr").symlink_to(package / "usr")
    (sysroot / "lib").symlink_to(package / "usr/lib")
    return sysroot
