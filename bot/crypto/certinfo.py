"""Read issued certificates: what to tell people about them, and whether a key fits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from bot.crypto import keys, pem
from bot.errors import ValidationError

_CERT_LABELS = ("CERTIFICATE", "TRUSTED CERTIFICATE")


@dataclass(frozen=True)
class CertInfo:
    """What a person is told about an issued certificate."""

    subject: str
    names: tuple[str, ...]
    issuer: str
    not_before: datetime  # aware, UTC
    not_after: datetime  # aware, UTC
    sha256_fingerprint: str  # "AB:CD:..."
    serial: str  # upper-case hex
    public_key_sha256: str  # same value as CSRInfo.public_key_sha256 for the same key


def split_chain(chain_pem: bytes) -> list[bytes]:
    """Split a PEM chain into one normalized PEM per certificate, in the order given."""
    certs = [
        pem.to_pem("CERTIFICATE", b.der) for b in pem.blocks(chain_pem) if b.label in _CERT_LABELS
    ]
    if not certs:
        raise ValidationError("No certificate was found: expected “-----BEGIN CERTIFICATE-----”.")
    return certs


def describe_certificate(chain_pem: bytes) -> CertInfo:
    """Describe the leaf (first) certificate of a PEM chain."""
    cert = _load(split_chain(chain_pem)[0])
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    if not names:
        names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    fingerprint = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        names=tuple(dict.fromkeys(n.lower() for n in names)),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256_fingerprint=":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)),
        serial=format(cert.serial_number, "X"),
        public_key_sha256=keys.public_key_sha256(cert.public_key()),
    )


def key_matches_certificate(key_pem: bytes, cert_pem: bytes) -> bool:
    """True if the private key belongs to the (first) certificate in ``cert_pem``."""
    key = keys.load_private_key(key_pem)
    cert = _load(split_chain(cert_pem)[0])
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    theirs = cert.public_key().public_bytes(serialization.Encoding.DER, spki)
    return hashlib.sha256(mine).digest() == hashlib.sha256(theirs).digest()


def load_certificates(chain_pem: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM chain as a cryptography object, leaf first."""
    return [_load(one) for one in split_chain(chain_pem)]


def _load(one_pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(one_pem)
    except ValueError:
        raise ValidationError("A certificate in the chain is damaged and cannot be read.") from None
