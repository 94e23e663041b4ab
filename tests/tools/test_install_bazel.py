"""Unit tests of tools/install_bazel: the package set (debian_packages.py: pins, index, downloads)
and the installer (install_bazel.py: key, lock, CLI)."""

import hashlib
import http.server
import threading
from pathlib import Path
from typing import Iterator

import pytest

from tools.install_bazel import debian_packages as dp
from tools.install_bazel import install_bazel as ib
from tools.install_bazel.common import InstallError

SHA_A = "a" * 64


def test_parse_pins_reads_fields_and_skips_comments() -> None:
    debs = dp.parse_pins(f"# header\n\nlibc6 2.43-7 {SHA_A} pool/main/g/glibc/libc6_2.43-7_amd64.deb  # x\n")
    assert debs == [dp.Deb("libc6", "2.43-7", SHA_A, "pool/main/g/glibc/libc6_2.43-7_amd64.deb")]
    assert debs[0].file_name == "libc6_2.43-7_amd64.deb"


@pytest.mark.parametrize(
    "text, message",
    [
        ("libc6 2.43-7 nothex pool/x.deb\n", "pins.txt:1: expected"),
        (f"ok 1 {SHA_A} p.deb\nshort line\n", "pins.txt:2: expected"),
        ("# only comments\n", "no packages listed"),
    ],
)
def test_parse_pins_names_the_bad_line(text: str, message: str) -> None:
    with pytest.raises(InstallError, match=message):
        dp.parse_pins(text)


def test_shipped_pins_file_parses_and_includes_bazel() -> None:
    pins = dp.parse_pins((ib.HERE / "pins.txt").read_text())
    names = {deb.package for deb in pins}
    # libzstd-jni1: Bazel's .tar.zst extraction (python-build-standalone archives) needs it.
    assert {"bazel-bootstrap", "libc6", "patchelf", "libzstd-jni1", "libzstd1"} <= names
    assert all(deb.pool_path.startswith("pool/main/") for deb in pins)


APT_SHOW = f"""Package: libc6
Version: 2.43-7
Filename: pool/main/g/glibc/libc6_2.43-7_amd64.deb
SHA256: {SHA_A}
Description: GNU C Library
 continuation line: with a colon

Package: libc6
Version: 2.41-12
Filename: pool/main/g/glibc/libc6_2.41-12_amd64.deb
SHA256: {"b" * 64}
"""


def test_parse_apt_stanzas_keeps_every_version_in_order() -> None:
    available = dp.parse_apt_stanzas(APT_SHOW)
    assert [d.version for d in available["libc6"]] == ["2.43-7", "2.41-12"]


def test_resolve_keeps_a_pin_the_index_still_has() -> None:
    pin = dp.Deb("libc6", "2.41-12", "b" * 64, "pool/main/g/glibc/libc6_2.41-12_amd64.deb")
    assert dp.resolve([pin], dp.parse_apt_stanzas(APT_SHOW)) == [pin]


def test_resolve_replaces_a_superseded_pin_by_the_candidate() -> None:
    pin = dp.Deb("libc6", "2.40-1", "c" * 64, "pool/main/g/glibc/libc6_2.40-1_amd64.deb")
    assert dp.resolve([pin], dp.parse_apt_stanzas(APT_SHOW))[0].version == "2.43-7"


def test_resolve_refuses_a_pin_whose_hash_disagrees_with_the_index() -> None:
    pin = dp.Deb("libc6", "2.43-7", "d" * 64, "pool/main/g/glibc/libc6_2.43-7_amd64.deb")
    with pytest.raises(InstallError, match=f"pinned: {'d' * 64}"):
        dp.resolve([pin], dp.parse_apt_stanzas(APT_SHOW))


def test_resolve_names_a_package_missing_from_the_index() -> None:
    with pytest.raises(InstallError, match="package gone-pkg is not in the Debian sid index"):
        dp.resolve([dp.Deb("gone-pkg", "1", SHA_A, "p.deb")], {})


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static file server on 127.0.0.1 standing in for the Debian mirror."""
    root = tmp_path / "mirror"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", root
    server.shutdown()


def _publish(root: Path, pool_path: str, data: bytes) -> dp.Deb:
    (root / pool_path).parent.mkdir(parents=True, exist_ok=True)
    (root / pool_path).write_bytes(data)
    return dp.Deb("pkg", "1.0", hashlib.sha256(data).hexdigest(), pool_path)


def test_download_verifies_and_stores(mirror: tuple[str, Path], tmp_path: Path) -> None:
    url, root = mirror
    deb = _publish(root, "pool/main/p/pkg/pkg_1.0_all.deb", b"payload")
    dp.download(deb, url, tmp_path / deb.file_name)
    assert (tmp_path / deb.file_name).read_bytes() == b"payload"


def test_download_mismatch_names_package_url_and_both_hashes(mirror: tuple[str, Path], tmp_path: Path) -> None:
    url, root = mirror
    good = _publish(root, "pool/main/p/pkg/pkg_1.0_all.deb", b"payload")
    wrong = dp.Deb(good.package, good.version, "0" * 64, good.pool_path)
    with pytest.raises(InstallError) as err:
        dp.download(wrong, url, tmp_path / "out.deb")
    message = str(err.value)
    assert "pkg 1.0" in message and f"{url}/{good.pool_path}" in message
    assert "0" * 64 in message and good.sha256 in message
    assert not list(tmp_path.glob("out.deb*")), "a bad download must leave no file behind"


def test_download_of_a_superseded_file_reports_not_in_pool(mirror: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = mirror
    with pytest.raises(dp.NotInPool):
        dp.download(dp.Deb("pkg", "1", SHA_A, "pool/main/p/pkg/gone.deb"), url, tmp_path / "gone.deb")


def test_fetch_debs_reuses_verified_files_without_network(tmp_path: Path) -> None:
    cache = tmp_path / "debs"
    cache.mkdir()
    (cache / "pkg_1.0_all.deb").write_bytes(b"cached")
    deb = dp.Deb("pkg", "1.0", hashlib.sha256(b"cached").hexdigest(), "pool/main/p/pkg/pkg_1.0_all.deb")
    # An unroutable mirror: any download attempt would fail the test.
    assert dp.fetch_debs([deb], cache, "http://127.0.0.1:9", index=None) == [deb]  # type: ignore[arg-type]


def test_fetch_debs_falls_back_to_the_index_for_superseded_pins(mirror: tuple[str, Path], tmp_path: Path) -> None:
    url, root = mirror
    newer = _publish(root, "pool/main/p/pkg/pkg_2.0_all.deb", b"new")
    newer = dp.Deb("pkg", "2.0", newer.sha256, newer.pool_path)
    gone = dp.Deb("pkg", "1.0", SHA_A, "pool/main/p/pkg/pkg_1.0_all.deb")

    class FakeIndex:
        def show(self, packages: list[str]) -> dict[str, list[dp.Deb]]:
            assert packages == ["pkg"]
            return {"pkg": [newer]}

    chosen = dp.fetch_debs([gone], tmp_path / "debs", url, FakeIndex())  # type: ignore[arg-type]
    assert chosen == [newer]
    assert (tmp_path / "debs" / "pkg_2.0_all.deb").read_bytes() == b"new"


def test_install_key_matches_the_launchers_computation() -> None:
    # tools/bazel computes: cat pins.txt install_bazel.py common.py debian_packages.py relocation.py
    # bazel_config.py truststore.py | sha256sum | cut -c1-16
    pins = (ib.HERE / "pins.txt").read_text()
    names = ("pins.txt", "install_bazel.py", "common.py", "debian_packages.py", "relocation.py", "bazel_config.py",
             "truststore.py")
    data = b"".join((ib.HERE / n).read_bytes() for n in names)
    assert ib.install_key(pins) == hashlib.sha256(data).hexdigest()[:16]


def test_complete_install_is_reused_and_partial_one_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = tmp_path / "bazel-x"
    prefix.mkdir()
    (prefix / ib.COMPLETE_MARKER).write_text("bazel 7.7.1\n")
    # A complete prefix returns at once (no network, no unpacking).
    assert ib.install(prefix, [], tmp_path / "debs", "http://127.0.0.1:9") == prefix / "bin/bazel"

    (prefix / ib.COMPLETE_MARKER).unlink()
    (prefix / "half-written").write_text("")
    monkeypatch.setattr(dp, "fetch_debs", lambda *a: (_ for _ in ()).throw(InstallError("stop here")))
    with pytest.raises(InstallError, match="stop here"):
        ib.install(prefix, [], tmp_path / "debs", "http://127.0.0.1:9")
    assert not (prefix / "half-written").exists(), "an incomplete prefix must be removed, not trusted"
    assert not (prefix / ib.COMPLETE_MARKER).exists()


def test_main_reports_errors_in_one_line_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "pins.txt"
    bad.write_text("not a pin line\n")
    assert ib.main(["--cache-dir", str(tmp_path), "--pins", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "tools/bazel: error:" in err and "pins.txt:1" in err and "Traceback" not in err
