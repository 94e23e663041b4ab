"""Unit tests of tools/install_bazel/truststore.py (the JKS writer)."""

import base64
import hashlib
import struct
from pathlib import Path

import pytest

from tools.install_bazel import truststore


def _pem(der: bytes) -> bytes:
    body = base64.encodebytes(der)
    return b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"


def _read_jks(data: bytes, password: str) -> list[bytes]:
    """A reader written from the JDK's format description, independent of the writer."""
    body, digest = data[:-20], data[-20:]
    expected = hashlib.sha1(password.encode("utf-16-be") + b"Mighty Aphrodite" + body).digest()
    assert digest == expected, "integrity digest does not match"
    magic, version, count = struct.unpack_from(">III", body, 0)
    assert (magic, version) == (0xFEEDFEED, 2)
    offset, certs, aliases = 12, [], []
    for _ in range(count):
        (tag,) = struct.unpack_from(">I", body, offset)
        assert tag == 2
        offset += 4
        (alias_len,) = struct.unpack_from(">H", body, offset)
        aliases.append(body[offset + 2 : offset + 2 + alias_len])
        offset += 2 + alias_len + 8
        (type_len,) = struct.unpack_from(">H", body, offset)
        assert body[offset + 2 : offset + 2 + type_len] == b"X.509"
        offset += 2 + type_len
        (der_len,) = struct.unpack_from(">I", body, offset)
        certs.append(body[offset + 4 : offset + 4 + der_len])
        offset += 4 + der_len
    assert offset == len(body), "trailing bytes after the last entry"
    assert len(set(aliases)) == len(aliases), "aliases must be unique"
    return certs


def test_round_trip_keeps_every_certificate_in_order(tmp_path: Path) -> None:
    ders = [b"\x30\x03first", b"\x30\x04second", bytes(range(256))]
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"# comment\n" + b"".join(_pem(d) for d in ders))
    out = tmp_path / "sub" / "cacerts.jks"
    assert truststore.write_truststore(bundle, out) == 3
    assert _read_jks(out.read_bytes(), truststore.PASSWORD) == ders


def test_output_is_reproducible(tmp_path: Path) -> None:
    assert truststore.jks_bytes([b"abc"]) == truststore.jks_bytes([b"abc"])


def test_wrong_password_fails_integrity(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="integrity"):
        _read_jks(truststore.jks_bytes([b"abc"]), "not-the-password")


def test_bundle_without_certificates_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "empty.pem"
    bundle.write_text("nothing here\n")
    with pytest.raises(truststore.TrustStoreError, match="no PEM certificate"):
        truststore.write_truststore(bundle, tmp_path / "out.jks")


def test_corrupt_base64_names_the_certificate(tmp_path: Path) -> None:
    pem = _pem(b"ok") + b"-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n"
    with pytest.raises(truststore.TrustStoreError, match="certificate #2"):
        truststore.parse_pem_certificates(pem)


def test_ssl_cert_file_wins_and_must_exist(tmp_path: Path) -> None:
    bundle = tmp_path / "b.pem"
    bundle.write_bytes(_pem(b"x"))
    assert truststore.find_ca_bundle({"SSL_CERT_FILE": str(bundle)}) == bundle
    with pytest.raises(truststore.TrustStoreError, match="is not a file"):
        truststore.find_ca_bundle({"SSL_CERT_FILE": str(tmp_path / "missing")})


def test_cli_reports_errors_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert truststore.main([str(tmp_path / "o.jks"), "--bundle", str(tmp_path / "missing.pem")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("truststore: ") and "Traceback" not in err
