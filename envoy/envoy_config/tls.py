"""The TLS certificate pair Envoy's HTTPS listener serves."""
import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from schemas.private_files import private_directory, tighten

VALIDITY = datetime.timedelta(days=365)


def resolve_tls_paths(config, settings) -> tuple[Path, Path]:
    """(certificate, private key) as absolute paths; relative ones live under CLEW_HOME."""
    tls = config.tls
    return _under_home(tls["certificate"], settings.home), _under_home(tls["private_key"], settings.home)


def _under_home(path: str, home: Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else Path(home) / path


def ensure_self_signed(cert_path: Path, key_path: Path) -> bool:
    """Generate a localhost certificate unless both files exist; True if it generated one.

    Both files are rewritten together: a fresh key with an old certificate would not load.
    """
    cert_path, key_path = Path(cert_path), Path(key_path)
    if cert_path.exists() and key_path.exists():
        tighten(key_path)  # a key generated before keys were always 0600
        return False
    key = ec.generate_private_key(ec.SECP256R1())
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    private_directory(cert_path.parent)
    cert_path.write_bytes(_certificate(key).public_bytes(serialization.Encoding.PEM))
    return True


def _certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            # Backdated a little so a client with a slightly slow clock still accepts it.
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # Key identifiers and usages: strict verifiers (Python 3.13's default) demand them.
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start: chmod after writing would leave a window where it is readable.
    private_directory(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed
