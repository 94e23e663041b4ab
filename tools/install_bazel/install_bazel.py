"""Installs Debian sid's bazel-bootstrap 7.x into a private, per-user prefix.

Run by tools/bazel when no Bazel >= 7 is available. Sid's Bazel needs a newer glibc
and libstdc++ than Debian 12 has, so those libraries are unpacked into the prefix
too and the executables Bazel starts itself are relinked to them with patchelf;
build actions keep using the host's libraries. See docs/bazel-install.md.

Guarantees: every .deb matches a sha256 from pins.txt or from the signed sid index;
two racing installs serialize on a lock; a prefix is trusted only once its
`.complete` marker exists, so an interrupted install is redone, never used.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import truststore  # type: ignore[no-redef]
else:
    from . import truststore

DEFAULT_MIRROR = "http://deb.debian.org/debian"
COMPLETE_MARKER = ".complete"
HERE = Path(__file__).resolve().parent
# Debian's bazelrc points Bazel at these modules; Debian does not package them, so
# the install provides empty stand-ins (as Debian's own autopkgtests do).
STUB_MODULES = ("apple_support", "protobuf", "buildozer", "zlib")
# Debian's module copies, by module name, relative to usr/share/bazel; served to
# WORKSPACE mode too, where Bazel would otherwise fetch them from GitHub.
WORKSPACE_OVERRIDES = {
    "platforms": "tools/platforms",
    "rules_cc": "rules/cc",
    "rules_java": "rules/java",
    "rules_python": "rules/python",
    "rules_license": "rules/license",
    "rules_proto": "rules/proto",
    "bazel_skylib": "tools/skylib",
    "bazel_features": "tools/features",
}


class InstallError(Exception):
    """An install step failed; the message says what, where and how to fix it."""


@dataclasses.dataclass(frozen=True)
class Deb:
    """One Debian package file: what to fetch and the sha256 it must have."""

    package: str
    version: str
    sha256: str
    pool_path: str

    @property
    def file_name(self) -> str:
        return self.pool_path.rsplit("/", 1)[-1]


def parse_pins(text: str, origin: str = "pins.txt") -> list[Deb]:
    """Parses `package version sha256 pool-path` lines; '#' starts a comment."""
    debs = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 4 or not re.fullmatch(r"[0-9a-f]{64}", fields[2]):
            raise InstallError(
                f"{origin}:{number}: expected 'package version sha256 pool-path', got {line!r}"
            )
        debs.append(Deb(*fields))
    if not debs:
        raise InstallError(f"{origin}: no packages listed")
    return debs


def parse_apt_stanzas(text: str) -> dict[str, list[Deb]]:
    """Parses `apt-cache show` output into the versions available per package."""
    available: dict[str, list[Deb]] = {}
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith(" "):
                fields[key.strip()] = value.strip()
        if {"Package", "Version", "SHA256", "Filename"} <= fields.keys():
            deb = Deb(fields["Package"], fields["Version"], fields["SHA256"], fields["Filename"])
            available.setdefault(deb.package, []).append(deb)
    return available


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class NotInPool(Exception):
    """The mirror answered 404: the file was superseded and removed."""


def download(deb: Deb, mirror: str, dest: Path) -> None:
    """Fetches `deb` into `dest`, verifying its sha256; removes the file on failure."""
    url = f"{mirror}/{deb.pool_path}"
    tmp = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
    except urllib.error.HTTPError as err:
        tmp.unlink(missing_ok=True)
        if err.code == 404:
            raise NotInPool(url) from err
        raise InstallError(f"download of {deb.package} {deb.version} failed: {url}: {err}") from err
    except (urllib.error.URLError, OSError) as err:
        tmp.unlink(missing_ok=True)
        raise InstallError(
            f"download of {deb.package} {deb.version} failed: {url}: {err}\n"
            "  check the network and any http_proxy setting, then run the command again"
        ) from err
    if digest.hexdigest() != deb.sha256:
        tmp.unlink(missing_ok=True)
        raise InstallError(
            f"sha256 mismatch for {deb.package} {deb.version}\n"
            f"  url:      {url}\n  expected: {deb.sha256}\n  got:      {digest.hexdigest()}\n"
            "  the file was discarded; if the mirror is a proxy, clear its cache and retry"
        )
    os.replace(tmp, dest)


class AptIndex:
    """A private apt index of Debian sid (its signature is checked by apt)."""

    def __init__(self, state_dir: Path, mirror: str) -> None:
        self.state_dir = state_dir
        self.mirror = mirror
        self._updated = False

    def _options(self) -> list[str]:
        d = self.state_dir
        return [
            "-o", f"Dir::State::Lists={d}/lists",
            "-o", f"Dir::Cache={d}/cache",
            "-o", "Dir::Etc::SourceList=/dev/null",
            "-o", f"Dir::Etc::SourceParts={d}/sources.list.d",
            "-o", "Dir::State::status=/dev/null",
            "-o", "Debug::NoLocking=1",
            "-o", f"APT::Sandbox::User={_user_name()}",
        ]  # fmt: skip

    def update(self) -> None:
        if self._updated:
            return
        keyring = _debian_keyring()
        for sub in ("lists/partial", "cache/archives/partial", "sources.list.d"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.state_dir / "sources.list.d/sid.sources").write_text(
            f"Types: deb\nURIs: {self.mirror}\nSuites: sid\nComponents: main\nSigned-By: {keyring}\n"
        )
        _log(f"reading the signed Debian sid index from {self.mirror}")
        _run(["apt-get", *self._options(), "-qq", "update"], "apt-get update (Debian sid index)")
        self._updated = True

    def show(self, packages: list[str]) -> dict[str, list[Deb]]:
        """All versions of `packages` in the index (apt lists the candidate first)."""
        self.update()
        out = _run(["apt-cache", *self._options(), "show", *packages], "apt-cache show")
        return parse_apt_stanzas(out)


def resolve(pins: list[Deb], available: dict[str, list[Deb]]) -> list[Deb]:
    """Keeps each pin the index still has; replaces superseded ones by the index's candidate."""
    resolved = []
    for pin in pins:
        versions = available.get(pin.package)
        if not versions:
            raise InstallError(
                f"package {pin.package} is not in the Debian sid index any more; "
                "update tools/install_bazel/pins.txt (see docs/bazel-install.md)"
            )
        same = [deb for deb in versions if deb.version == pin.version]
        if same:
            if same[0].sha256 != pin.sha256:
                raise InstallError(
                    f"sha256 of {pin.package} {pin.version} differs between pins.txt and the "
                    f"signed index\n  url: {same[0].pool_path}\n  pinned: {pin.sha256}\n"
                    f"  index:  {same[0].sha256}"
                )
            resolved.append(same[0])
        else:
            resolved.append(versions[0])
            _log(f"note: {pin.package} {pin.version} is gone from sid; using {versions[0].version}")
    return resolved


def fetch_debs(pins: list[Deb], deb_cache: Path, mirror: str, index: AptIndex) -> list[Deb]:
    """Makes every package of the set present and verified in `deb_cache`."""
    deb_cache.mkdir(parents=True, exist_ok=True)

    def cached(deb: Deb) -> bool:
        path = deb_cache / deb.file_name
        return path.is_file() and sha256_of(path) == deb.sha256

    chosen = list(pins)
    missing = [deb for deb in chosen if not cached(deb)]
    gone = []
    for count, deb in enumerate(missing, 1):
        _log(f"[{count}/{len(missing)}] {deb.file_name}")
        try:
            download(deb, mirror, deb_cache / deb.file_name)
        except NotInPool:
            gone.append(deb)
    if gone:
        available = index.show(sorted({deb.package for deb in gone}))
        replacements = {deb.package: deb for deb in resolve(gone, available)}
        chosen = [replacements.get(deb.package, deb) for deb in chosen]
        for deb in replacements.values():
            if not cached(deb):
                _log(f"fetching {deb.file_name} (from the index)")
                download(deb, mirror, deb_cache / deb.file_name)
    return chosen


def _log(message: str) -> None:
    print(f"tools/bazel: {message}", file=sys.stderr, flush=True)


def _user_name() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _debian_keyring() -> str:
    for candidate in (
        "/usr/share/keyrings/debian-archive-keyring.gpg",
        "/usr/share/keyrings/debian-archive-keyring.pgp",
    ):
        if os.path.isfile(candidate):
            return candidate
    raise InstallError(
        "Debian's archive keyring is missing; install it with: apt-get install debian-archive-keyring"
    )


def _run(argv: list[str], what: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError as err:
        raise InstallError(f"{what}: {argv[0]} not found ({err})") from err
    if done.returncode != 0:
        raise InstallError(f"{what} failed (exit {done.returncode}):\n{done.stderr.strip()}")
    return done.stdout


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where things live inside an install prefix."""

    prefix: Path

    @property
    def root(self) -> Path:
        return self.prefix / "root"

    @property
    def share(self) -> Path:
        return self.root / "usr/share/bazel"

    @property
    def loader(self) -> Path:
        return self.root / "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"

    @property
    def library_path(self) -> str:
        return f"{self.root}/usr/lib/x86_64-linux-gnu:{self.root}/lib/x86_64-linux-gnu"

    @property
    def truststore(self) -> Path:
        return self.prefix / "cacerts.jks"

    def java_home(self) -> Path:
        javas = sorted(self.root.glob("usr/lib/jvm/java-*-openjdk-amd64/bin/java"))
        if not javas:
            raise InstallError(f"no JDK unpacked under {self.root}/usr/lib/jvm")
        return javas[0].resolve().parent.parent


def _rebase_absolute_symlinks(root: Path) -> None:
    """Points absolute symlinks inside the unpacked tree at the tree's own copies."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            link = Path(dirpath, name)
            if not link.is_symlink():
                continue
            target = os.readlink(link)
            inside = Path(str(root) + target)
            if target.startswith("/") and (inside.exists() or inside.is_symlink()):
                link.unlink()
                link.symlink_to(inside)


def _relink_executables(layout: Layout) -> None:
    patchelf = [str(layout.loader), "--library-path", layout.library_path,
                str(layout.root / "usr/bin/patchelf")]  # fmt: skip
    java_home = layout.java_home()

    def patch(executable: Path, extra_rpath: str = "") -> None:
        rpath = f"{extra_rpath}:{layout.library_path}" if extra_rpath else layout.library_path
        _run([*patchelf, "--set-interpreter", str(layout.loader), "--force-rpath",
              "--set-rpath", rpath, str(executable.resolve())], f"patchelf {executable}")  # fmt: skip

    patch(layout.root / "usr/bin/bazel")
    for helper in sorted((layout.root / "usr/libexec/x86_64-linux-gnu/bazel").iterdir()):
        patch(helper)
    patch(java_home / "bin/java", str(java_home / "lib"))
    if (java_home / "lib/jspawnhelper").exists():
        patch(java_home / "lib/jspawnhelper", str(java_home / "lib"))


def _manifest_fold(line: str) -> bytes:
    # Jar manifest lines hold at most 72 bytes; continuations start with a space.
    data = line.encode()
    parts = [data[:72]] + [b" " + data[i : i + 71] for i in range(72, len(data), 71)]
    return b"\r\n".join(parts)


def _relocate_jar_manifest(jar: Path) -> None:
    """Rewrites Class-Path entries that name /usr/share/java/ to jar-relative names."""
    with zipfile.ZipFile(jar) as zin:
        try:
            manifest = zin.read("META-INF/MANIFEST.MF").decode("utf-8")
        except KeyError:
            return
        if "/usr/share/java/" not in manifest:
            return
        lines: list[str] = []
        for line in manifest.replace("\r\n", "\n").split("\n"):
            if line.startswith(" ") and lines:
                lines[-1] += line[1:]
            else:
                lines.append(line)
        rewritten = []
        for line in lines:
            if line.lower().startswith("class-path:"):
                entries = line.split(":", 1)[1].split()
                line = "Class-Path: " + " ".join(e.replace("/usr/share/java/", "") for e in entries)
            rewritten.append(_manifest_fold(line))
        fd, tmp = tempfile.mkstemp(dir=jar.parent)
        os.close(fd)
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                data = b"\r\n".join(rewritten) if info.filename == "META-INF/MANIFEST.MF" else zin.read(info)
                zout.writestr(info, data)
    shutil.copymode(jar, tmp)
    os.replace(tmp, jar)


def _point_classpath_into_prefix(layout: Layout) -> None:
    java_dir = layout.root / "usr/share/java"
    for jar in sorted(java_dir.glob("*.jar")):
        if not jar.is_symlink():
            _relocate_jar_manifest(jar)
    classpath = layout.share / "bazel_classpath_debian_depends.txt"
    entries = []
    for line in classpath.read_text().splitlines():
        line = line.strip()
        if line:
            entries.append(f"{layout.root}{line}" if line.startswith("/usr/share/java/") else line)
    classpath.write_text("\n".join(entries) + "\n")


def _write_stub_modules(prefix: Path) -> Path:
    stubs = prefix / "stub-modules"
    for name in STUB_MODULES:
        (stubs / name).mkdir(parents=True, exist_ok=True)
        (stubs / name / "MODULE.bazel").write_text(f'module(name = "{name}")\n')
        (stubs / name / "BUILD.bazel").write_text("")
    (stubs / "zlib/BUILD.bazel").write_text(
        "# Stand-in for BCR's zlib (offline install): the system's libz.\n"
        'cc_library(name = "zlib", linkopts = ["-lz"], visibility = ["//visibility:public"])\n'
    )
    (stubs / "buildozer/buildozer_binary.bzl").write_text(
        '"""Stand-in for buildozer\'s binary extension (offline install)."""\n\n'
        "def _impl(rctx):\n"
        '    rctx.file("buildozer", "#!/bin/sh\\necho buildozer is not available offline >&2\\nexit 1\\n", executable = True)\n'
        '    rctx.file("BUILD.bazel", \'exports_files(["buildozer"])\\n\')\n\n'
        "_stub_repo = repository_rule(implementation = _impl)\n\n"
        "def _ext(mctx):\n"
        '    _stub_repo(name = "buildozer_binary")\n\n'
        "buildozer_binary = module_extension(implementation = _ext)\n"
    )
    return stubs


def _zstd_jni(layout: Layout) -> Path | None:
    """zstd-jni's native library: Bazel extracts .tar.zst archives (python-build-standalone's
    format) with it, and Debian's bazel-bootstrap does not bundle it."""
    library = layout.root / "usr/lib/x86_64-linux-gnu/libzstd-jni.so.1"
    return library.resolve() if library.exists() else None


def _relink_zstd_jni(layout: Layout) -> None:
    library = _zstd_jni(layout)
    if library:  # it needs the prefix's libzstd.so.1 (newer than Debian 12's)
        _run([str(layout.loader), "--library-path", layout.library_path, str(layout.root / "usr/bin/patchelf"),
              "--force-rpath", "--set-rpath", layout.library_path, str(library)], f"patchelf {library}")


def _write_rc_and_entry(layout: Layout, stubs: Path) -> None:
    debian_rc = (layout.root / "etc/bazel/bazelrc").read_text()
    lines = [f"# Generated by tools/install_bazel from Debian's /etc/bazel/bazelrc."]
    for line in debian_rc.splitlines():
        if line.startswith("try-import /etc/bazel.bazelrc") or "--sandbox_debug" in line:
            continue
        lines.append(line.replace("/usr/share/bazel", str(layout.share)))
    lines += [f"common --override_module={name}={stubs / name}" for name in STUB_MODULES]
    lines += [
        f"common --override_repository={name}={layout.share / sub}"
        for name, sub in WORKSPACE_OVERRIDES.items()
    ]
    lines += [
        f"startup --server_javabase={layout.java_home()}",
        f"startup --host_jvm_args=-Djavax.net.ssl.trustStore={layout.truststore}",
        "startup --host_jvm_args=-Djavax.net.ssl.trustStoreType=JKS",
        f"startup --host_jvm_args=-Djavax.net.ssl.trustStorePassword={truststore.PASSWORD}",
    ]
    zstd_jni = _zstd_jni(layout)
    if zstd_jni:
        lines.append(f"startup --host_jvm_args=-DZstdNativePath={zstd_jni}")
    rc = layout.prefix / "bazelrc"
    rc.write_text("\n".join(lines) + "\n")
    entry = layout.prefix / "bin/bazel"
    entry.parent.mkdir(parents=True, exist_ok=True)
    # --bazelrc replaces the user's ~/.bazelrc, so it is passed on explicitly.
    entry.write_text(
        "#!/bin/sh\n"
        "# Debian sid bazel-bootstrap, private install made by tools/install_bazel.\n"
        'if [ -f "$HOME/.bazelrc" ]; then set -- --bazelrc="$HOME/.bazelrc" "$@"; fi\n'
        f'exec "{layout.root}/usr/bin/bazel" --bazelrc="{rc}" "$@"\n'
    )
    entry.chmod(0o755)


@dataclasses.dataclass
class _Lock:
    path: Path

    def __enter__(self) -> "_Lock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _log(f"waiting for another install to finish ({self.path})")
            fcntl.flock(self._file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def install(prefix: Path, pins: list[Deb], deb_cache: Path, mirror: str) -> Path:
    """Installs into `prefix` unless a complete install is there; returns bin/bazel."""
    layout = Layout(prefix)
    entry = prefix / "bin/bazel"
    with _Lock(prefix.with_name(prefix.name + ".lock")):
        if (prefix / COMPLETE_MARKER).exists():
            return entry
        started = time.monotonic()
        if prefix.exists():
            _log(f"removing an incomplete install at {prefix}")
            shutil.rmtree(prefix)
        _log(f"installing Bazel into {prefix} (once; later runs reuse it)")
        index = AptIndex(prefix.with_name(prefix.name + ".apt"), mirror)
        debs = fetch_debs(pins, deb_cache, mirror, index)
        _log(f"unpacking {len(debs)} packages")
        layout.root.mkdir(parents=True)
        for deb in debs:
            _run(["dpkg-deb", "-x", str(deb_cache / deb.file_name), str(layout.root)], f"dpkg-deb -x {deb.file_name}")
        _rebase_absolute_symlinks(layout.root)
        _log("relinking Bazel's executables against the prefix's glibc")
        _relink_executables(layout)
        _relink_zstd_jni(layout)
        _point_classpath_into_prefix(layout)
        truststore.write_truststore(truststore.find_ca_bundle(), layout.truststore)
        _write_rc_and_entry(layout, _write_stub_modules(prefix))
        version = _run([str(entry), "--version"], "bazel --version").strip()
        (prefix / "installed-debs.txt").write_text(
            "".join(f"{d.package} {d.version} {d.sha256} {d.pool_path}\n" for d in debs)
        )
        (prefix / COMPLETE_MARKER).write_text(version + "\n")
        _log(f"installed {version} in {time.monotonic() - started:.0f} s")
    return entry


def install_key(pins_text: str) -> str:
    """Names an install after what it is made from, so a new pin set gets a new prefix."""
    digest = hashlib.sha256(pins_text.encode())
    digest.update(Path(__file__).read_bytes())
    digest.update((HERE / "truststore.py").read_bytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, required=True,
                        help="per-user directory holding installs and downloaded .debs")  # fmt: skip
    parser.add_argument("--pins", type=Path, default=HERE / "pins.txt")
    parser.add_argument("--mirror", default=os.environ.get("RULES_PY_STANDALONE_DEBIAN_MIRROR", DEFAULT_MIRROR))
    parser.add_argument("--print-prefix", action="store_true",
                        help="print the install prefix for these pins and exit")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        pins_text = args.pins.read_text()
        prefix = args.cache_dir / f"bazel-{install_key(pins_text)}"
        if args.print_prefix:
            print(prefix)
            return 0
        entry = install(prefix, parse_pins(pins_text, str(args.pins)), args.cache_dir / "debs", args.mirror.rstrip("/"))
    except (InstallError, truststore.TrustStoreError, OSError) as err:
        _log(f"error: {err}")
        return 1
    print(entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
