"""Installs Debian sid's bazel-bootstrap 7.x into a private, per-user prefix.

Run by tools/bazel when no Bazel >= 7 is available. Sid's Bazel needs a newer glibc
and libstdc++ than Debian 12 has, so those libraries are unpacked into the prefix
too and the executables Bazel starts itself are relinked to them with patchelf;
build actions keep using the host's libraries. See docs/bazel-install.md.

Guarantees: every .deb matches a sha256 from pins.txt or from the signed sid index;
two racing installs serialize on a lock; a prefix is trusted only once its
`.complete` marker exists, so an interrupted install is redone, never used.

This module holds the lock, the install's order and the CLI; the steps are in
debian_packages (the .debs), relocation (the prefix's tree), bazel_config (the bazelrc)
and truststore (the JVM's CA certificates).
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

# Run as a script by tools/bazel (before any Bazel exists), imported as a package by the tests.
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bazel_config  # type: ignore[no-redef]
    import debian_packages  # type: ignore[no-redef]
    import relocation  # type: ignore[no-redef]
    import truststore  # type: ignore[no-redef]
    from common import InstallError, log, run  # type: ignore[no-redef]
else:
    from . import bazel_config, debian_packages, relocation, truststore
    from .common import InstallError, log, run

DEFAULT_MIRROR = "http://deb.debian.org/debian"
COMPLETE_MARKER = ".complete"
HERE = Path(__file__).resolve().parent
# What an install is made from besides pins.txt, hashed in this order (as tools/bazel does).
INSTALLER_FILES = (
    "install_bazel.py",
    "common.py",
    "debian_packages.py",
    "relocation.py",
    "bazel_config.py",
    "truststore.py",
)


@dataclasses.dataclass
class _Lock:
    path: Path

    def __enter__(self) -> "_Lock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another install to finish ({self.path})")
            fcntl.flock(self._file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def install(prefix: Path, pins: list[debian_packages.Deb], deb_cache: Path, mirror: str) -> Path:
    """Installs into `prefix` unless a complete install is there; returns bin/bazel."""
    layout = relocation.Layout(prefix)
    entry = prefix / "bin/bazel"
    with _Lock(prefix.with_name(prefix.name + ".lock")):
        if (prefix / COMPLETE_MARKER).exists():
            return entry
        started = time.monotonic()
        if prefix.exists():
            log(f"removing an incomplete install at {prefix}")
            shutil.rmtree(prefix)
        log(f"installing Bazel into {prefix} (once; later runs reuse it)")
        index = debian_packages.AptIndex(prefix.with_name(prefix.name + ".apt"), mirror)
        debs = debian_packages.fetch_debs(pins, deb_cache, mirror, index)
        log(f"unpacking {len(debs)} packages")
        layout.root.mkdir(parents=True)
        for deb in debs:
            run(["dpkg-deb", "-x", str(deb_cache / deb.file_name), str(layout.root)], f"dpkg-deb -x {deb.file_name}")
        relocation.relocate(layout)
        truststore.write_truststore(truststore.find_ca_bundle(), layout.truststore)
        bazel_config.configure(layout)
        version = run([str(entry), "--version"], "bazel --version").strip()
        (prefix / "installed-debs.txt").write_text(
            "".join(f"{d.package} {d.version} {d.sha256} {d.pool_path}\n" for d in debs)
        )
        (prefix / COMPLETE_MARKER).write_text(version + "\n")
        log(f"installed {version} in {time.monotonic() - started:.0f} s")
    return entry


def install_key(pins_text: str) -> str:
    """Names an install after what it is made from, so a new pin set gets a new prefix."""
    digest = hashlib.sha256(pins_text.encode())
    for name in INSTALLER_FILES:
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, required=True,
                        help="per-user directory holding installs and downloaded .debs")  # fmt: skip
    parser.add_argument("--pins", type=Path, default=HERE / "pins.txt")
    parser.add_argument("--mirror", default=os.environ.get("RULES_PY_STANDALONE_DEBIAN_MIRROR", DEFAULT_MIRROR))
    args = parser.parse_args(argv)
    try:
        pins_text = args.pins.read_text()
        prefix = args.cache_dir / f"bazel-{install_key(pins_text)}"
        entry = install(prefix, debian_packages.parse_pins(pins_text, str(args.pins)), args.cache_dir / "debs", args.mirror.rstrip("/"))
    except (InstallError, truststore.TrustStoreError, OSError) as err:
        log(f"error: {err}")
        return 1
    print(entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
