"""Private keys handed to people: encrypted PEM and PKCS#12 with strong KDF settings."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12

from bot.crypto import certinfo, der, keys
from bot.crypto.pem import to_pem
from bot.errors import ValidationError

#: PBKDF2-HMAC-SHA256 rounds (OWASP 2023 guidance is 600,000); ~0.15 s per derivation here.
KDF_ROUNDS = 600_000

_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_HMAC_SHA256 = "1.2.840.113549.2.9"
_AES256_CBC = "2.16.840.1.101.3.4.1.42"
_SHA256 = "2.16.840.1.101.3.4.2.1"


def export_key_pem_plain(key_pem: bytes) -> bytes:
    """The private key as unencrypted PKCS#8 PEM."""
    return keys.load_private_key(key_pem).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def export_key_pem_encrypted(
    key_pem: bytes, passphrase: bytes, *, rounds: int = KDF_ROUNDS
) -> bytes:
    """PKCS#8 PEM encrypted with PBES2: PBKDF2-HMAC-SHA256 (``rounds``) and AES-256-CBC."""
    _check_passphrase(passphrase)
    # cryptography's BestAvailableEncryption uses 2,048 rounds and its builder does not
    # support PKCS#8, so the EncryptedPrivateKeyInfo (RFC 5958, RFC 8018) is built here.
    plain = keys.load_private_key(key_pem).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt, iv = secrets.token_bytes(16), secrets.token_bytes(16)
    secret = PBKDF2HMAC(hashes.SHA256(), length=32, salt=salt, iterations=rounds).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES256(secret), modes.CBC(iv)).encryptor()
    padded = padder.update(plain) + padder.finalize()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    kdf = der.sequence(
        der.oid(_PBKDF2),
        der.sequence(
            der.octet_string(salt),
            der.integer(rounds),
            der.sequence(der.oid(_HMAC_SHA256), der.null()),
        ),
    )
    scheme = der.sequence(der.oid(_AES256_CBC), der.octet_string(iv))
    algorithm = der.sequence(der.oid(_PBES2), der.sequence(kdf, scheme))
    return to_pem("ENCRYPTED PRIVATE KEY", der.sequence(algorithm, der.octet_string(ciphertext)))


def export_pfx(
    key_pem: bytes,
    chain_pem: bytes,
    passphrase: bytes,
    *,
    friendly_name: bytes,
    rounds: int = KDF_ROUNDS,
) -> bytes:
    """PKCS#12 of key and chain: PBES2 AES-256-CBC bags, HMAC-SHA256 MAC, ``rounds`` everywhere."""
    _check_passphrase(passphrase)
    key = keys.load_private_key(key_pem)
    leaf, *others = certinfo.load_certificates(chain_pem)
    if not certinfo.key_matches_certificate(key_pem, certinfo.split_chain(chain_pem)[0]):
        raise ValidationError("This private key does not belong to the certificate.")
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(rounds)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(passphrase)
    )
    pfx = pkcs12.serialize_key_and_certificates(
        friendly_name or None, key, leaf, others or None, encryption
    )
    return _strengthen_mac(pfx, passphrase, rounds=rounds)


def _strengthen_mac(pfx: bytes, passphrase: bytes, *, rounds: int) -> bytes:
    """Replace the MAC (cryptography fixes its KDF at 2,048 rounds) with one using ``rounds``.

    The MAC doubles as a passphrase check, so a cheap one would let an attacker skip the
    costly bag encryption when guessing.
    """
    version, auth_safe, _mac = der.children(pfx, der.read(pfx))
    # authSafe is ContentInfo { data OID, [0] { OCTET STRING } }: the MAC covers that string.
    _oid, explicit = der.children(pfx, auth_safe)
    (content,) = der.children(pfx, explicit)
    if content.tag != der.OCTET_STRING:
        raise ValueError("unexpected PKCS#12 layout")
    salt = secrets.token_bytes(16)
    mac_key = _pkcs12_mac_key(passphrase, salt, rounds)
    digest = hmac.new(mac_key, pfx[content.start : content.end], hashlib.sha256).digest()
    mac_data = der.sequence(
        der.sequence(der.sequence(der.oid(_SHA256), der.null()), der.octet_string(digest)),
        der.octet_string(salt),
        der.integer(rounds),
    )
    return der.sequence(
        pfx[version.offset : version.end], pfx[auth_safe.offset : auth_safe.end], mac_data
    )


def _pkcs12_mac_key(passphrase: bytes, salt: bytes, rounds: int) -> bytes:
    """RFC 7292 appendix B.2 key derivation (ID 3, SHA-256) for a 32-byte MAC key."""
    block = 64  # SHA-256 input block size "v"
    # The passphrase is a BMPString with a trailing NUL, as OpenSSL and Windows read it.
    password = passphrase.decode("utf-8").encode("utf-16-be") + b"\x00\x00"

    def stretch(value: bytes) -> bytes:
        size = block * -(-len(value) // block)
        return (value * (size // len(value) + 1))[:size]

    state = hashlib.sha256(bytes([3]) * block + stretch(salt) + stretch(password)).digest()
    for _ in range(rounds - 1):
        state = hashlib.sha256(state).digest()
    return state  # one SHA-256 output is exactly the 32 bytes HMAC-SHA256 needs


def _check_passphrase(passphrase: bytes) -> None:
    if not passphrase:
        raise ValidationError("Choose a passphrase to protect the private key.")
    try:
        passphrase.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("The passphrase must be text (UTF-8).") from None
