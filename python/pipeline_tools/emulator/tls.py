"""A throwaway certificate authority and a server certificate for the local emulator.

Why HTTPS at all: the stack's bucket policy denies every request made without TLS
(``aws:SecureTransport = false``), and the local target deploys the very same stack as AWS.
Serving the emulator over HTTPS, with a certificate that clients (boto3, terraform's AWS
provider, the Lambda handler, the processing script) verify against ``ca.pem``, keeps that
setting switched on and meaningful.

The CA and the server certificate are generated once per state directory with
``cryptography`` and reused, so a terraform state that points at ``ca.pem`` stays valid
across ``local down``/``local up``. The private keys never leave ``.pipeline-tools/tls/``
(mode 0600). The server certificate names exactly ``127.0.0.1`` and ``localhost`` (SAN IP
and DNS): Go's TLS stack, which terraform uses, ignores the common name.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..files import write_atomic

VALID_DAYS = 825  # the longest validity Apple/Go clients accept for a server certificate


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # what clients trust (the state file's ``ca_bundle``)
    cert: Path  # the server's certificate chain (leaf + CA)
    key: Path  # the server's private key


def tls_files(directory: Path) -> TlsFiles:
    tls_dir = Path(directory).resolve() / "tls"
    return TlsFiles(ca=tls_dir / "ca.pem", cert=tls_dir / "server.pem", key=tls_dir / "server-key.pem")


def ensure_certificates(directory: Path) -> TlsFiles:
    """Return the CA/server files under ``directory/tls``, generating them on first use."""
    files = tls_files(directory)
    if files.ca.is_file() and files.cert.is_file() and files.key.is_file() and not _expires_soon(files.cert):
        return files
    files.ca.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(files.ca.parent, 0o700)

    now = dt.datetime.now(dt.timezone.utc)
    not_before = now - dt.timedelta(minutes=5)
    not_after = now + dt.timedelta(days=VALID_DAYS)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pipeline-tools local emulator CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    key_bytes = server_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(files.key, key_bytes, mode=0o600)
    write_atomic(files.cert, server_cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    write_atomic(files.ca, ca_cert.public_bytes(pem))
    return files


def _expires_soon(cert_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return True
    return cert.not_valid_after_utc < dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)
