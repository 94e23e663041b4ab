"""The Debian package set of the private Bazel: its pins, the signed sid index, the .debs.

Every .deb is fetched from the mirror's pool and must match a sha256 from pins.txt or, for a
pin that sid has superseded (the pool answers 404), from the signed sid index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

if __package__ in (None, ""):  # install_bazel.py, run as a script, put this directory on sys.path
    from common import InstallError, log, run  # type: ignore[no-redef]
else:
    from .common import InstallError, log, run


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
        log(f"reading the signed Debian sid index from {self.mirror}")
        run(["apt-get", *self._options(), "-qq", "update"], "apt-get update (Debian sid index)")
        self._updated = True

    def show(self, packages: list[str]) -> dict[str, list[Deb]]:
        """All versions of `packages` in the index (apt lists the candidate first)."""
        self.update()
        out = run(["apt-cache", *self._options(), "show", *packages], "apt-cache show")
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
            log(f"note: {pin.package} {pin.version} is gone from sid; using {versions[0].version}")
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
        log(f"[{count}/{len(missing)}] {deb.file_name}")
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
                log(f"fetching {deb.file_name} (from the index)")
                download(deb, mirror, deb_cache / deb.file_name)
    return chosen


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
