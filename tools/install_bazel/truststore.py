"""Writes a Java trust store (JKS) from a PEM CA bundle.

Bazel's downloader trusts what its JVM trusts. A machine without a JDK has no
/etc/ssl/certs/java/cacerts, so the private Bazel install gets a trust store made
from the system's PEM bundle, which also holds CAs added locally with
update-ca-certificates. JKS is used because it is simple and every JDK reads it;
the layout follows the JDK's sun.security.provider.JavaKeyStore.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import struct
import sys
import tempfile
from pathlib import Path

PASSWORD = "changeit"
_JKS_MAGIC = 0xFEEDFEED
_JKS_VERSION = 2
_TRUSTED_CERT_TAG = 2
# The JDK mixes this phrase into the keystore's integrity digest.
_DIGEST_WHITENER = b"Mighty Aphrodite"
_PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.DOTALL
)

# Where Linux distributions keep the PEM bundle; SSL_CERT_FILE wins when set.
CA_BUNDLE_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL family
    "/etc/ssl/cert.pem",  # Alpine, BSDs
)


class TrustStoreError(Exception):
    """A CA bundle that cannot become a trust store."""


def find_ca_bundle(environ: dict[str, str] | None = None) -> Path:
    """Returns the PEM bundle to trust: $SSL_CERT_FILE, else the distribution's bundle."""
    env = os.environ if environ is None else environ
    override = env.get("SSL_CERT_FILE")
    if override:
        if not Path(override).is_file():
            raise TrustStoreError(f"SSL_CERT_FILE={override} is not a file")
        return Path(override)
    for candidate in CA_BUNDLE_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise TrustStoreError(
        "no CA certificate bundle found (looked at "
        + ", ".join(CA_BUNDLE_CANDIDATES)
        + "); install it with: apt-get install ca-certificates"
    )


def parse_pem_certificates(pem: bytes) -> list[bytes]:
    """Returns the DER bytes of every certificate in a PEM bundle, in file order."""
    ders = []
    for index, match in enumerate(_PEM_CERT.finditer(pem)):
        try:
            ders.append(base64.b64decode(b"".join(match.group(1).split()), validate=True))
        except ValueError as err:
            raise TrustStoreError(f"certificate #{index + 1} is not valid base64: {err}") from err
    return ders


def _java_utf(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack(">H", len(data)) + data


def jks_bytes(certificates: list[bytes], password: str = PASSWORD) -> bytes:
    """Serializes DER certificates as trusted-certificate entries of a JKS keystore."""
    body = bytearray(struct.pack(">III", _JKS_MAGIC, _JKS_VERSION, len(certificates)))
    for index, der in enumerate(certificates):
        body += struct.pack(">I", _TRUSTED_CERT_TAG)
        body += _java_utf(f"ca{index:04d}")
        body += struct.pack(">Q", 0)  # creation date: fixed, so the output is reproducible
        body += _java_utf("X.509")
        body += struct.pack(">I", len(der)) + der
    digest = hashlib.sha1(password.encode("utf-16-be") + _DIGEST_WHITENER + bytes(body))
    return bytes(body) + digest.digest()


def write_truststore(bundle: Path, output: Path) -> int:
    """Writes `output` atomically from `bundle`; returns the number of certificates."""
    certificates = parse_pem_certificates(bundle.read_bytes())
    if not certificates:
        raise TrustStoreError(f"{bundle} holds no PEM certificate")
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=output.name + ".")
    with os.fdopen(fd, "wb") as out:
        out.write(jks_bytes(certificates))
    os.replace(tmp, output)
    return len(certificates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the .jks file to write")
    parser.add_argument("--bundle", type=Path, help="PEM bundle (default: the system's)")
    args = parser.parse_args(argv)
    try:
        bundle = args.bundle or find_ca_bundle()
        count = write_truststore(bundle, args.output)
    except (OSError, TrustStoreError) as err:
        print(f"truststore: {err}", file=sys.stderr)
        return 1
    print(f"truststore: {count} certificates from {bundle} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
