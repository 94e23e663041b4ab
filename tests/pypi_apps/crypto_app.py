import ssl, hashlib, datetime
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography import x509
from cryptography.x509.oid import NameOID

f = Fernet(Fernet.generate_key())
print(f.decrypt(f.encrypt(b"secret")))
h = hashes.Hash(hashes.SHA256()); h.update(b"abc"); print(h.finalize().hex() == hashlib.sha256(b"abc").hexdigest())
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
now = datetime.datetime(2026, 1, 1)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256()))
pem = cert.public_bytes(serialization.Encoding.PEM)
print(pem.splitlines()[0])
ctx = ssl.create_default_context()
print(ssl.OPENSSL_VERSION.split()[0], type(ctx).__name__)
from cryptography.hazmat.backends.openssl import backend
print("backend", backend.openssl_version_text().split()[0])
