"""Makes the unpacked Debian tree run from its prefix instead of from /.

Sid's Bazel needs a newer glibc and libstdc++ than Debian 12 has: the executables Bazel starts
itself are relinked to the prefix's copies with the set's own patchelf (build actions keep the
host's libraries). Absolute symlinks, the server classpath and jar manifests that name /usr are
pointed into the prefix.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

if __package__ in (None, ""):  # install_bazel.py, run as a script, put this directory on sys.path
    from common import InstallError, log, run  # type: ignore[no-redef]
else:
    from .common import InstallError, log, run


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

    def zstd_jni(self) -> Path | None:
        """zstd-jni's native library: Bazel extracts .tar.zst archives (python-build-standalone's
        format) with it, and Debian's bazel-bootstrap does not bundle it."""
        library = self.root / "usr/lib/x86_64-linux-gnu/libzstd-jni.so.1"
        return library.resolve() if library.exists() else None


def relocate(layout: Layout) -> None:
    """Points the unpacked tree at itself: symlinks, executables, zstd-jni, the classpath."""
    _rebase_absolute_symlinks(layout.root)
    log("relinking Bazel's executables against the prefix's glibc")
    _relink_executables(layout)
    _relink_zstd_jni(layout)
    _point_classpath_into_prefix(layout)


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


def _patchelf(layout: Layout, args: list[str], what: Path) -> None:
    """Runs the set's own patchelf, which needs the prefix's glibc as well."""
    run([str(layout.loader), "--library-path", layout.library_path, str(layout.root / "usr/bin/patchelf"),
         *args], f"patchelf {what}")  # fmt: skip


def _relink_executables(layout: Layout) -> None:
    java_home = layout.java_home()

    def patch(executable: Path, extra_rpath: str = "") -> None:
        rpath = f"{extra_rpath}:{layout.library_path}" if extra_rpath else layout.library_path
        _patchelf(layout, ["--set-interpreter", str(layout.loader), "--force-rpath", "--set-rpath", rpath,
                           str(executable.resolve())], executable)  # fmt: skip

    patch(layout.root / "usr/bin/bazel")
    for helper in sorted((layout.root / "usr/libexec/x86_64-linux-gnu/bazel").iterdir()):
        patch(helper)
    patch(java_home / "bin/java", str(java_home / "lib"))
    if (java_home / "lib/jspawnhelper").exists():
        patch(java_home / "lib/jspawnhelper", str(java_home / "lib"))


def _relink_zstd_jni(layout: Layout) -> None:
    library = layout.zstd_jni()
    if library:  # it needs the prefix's libzstd.so.1 (newer than Debian 12's)
        _patchelf(layout, ["--force-rpath", "--set-rpath", layout.library_path, str(library)], library)


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

