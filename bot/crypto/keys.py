"""Private key generation and the facts about a public key that people and checks need."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from bot.errors import ValidationError

#: Key algorithms certdesk generates, by the id stored with an order, with their display names.
KEY_ALGORITHMS: dict[str, str] = {
    "rsa2048": "RSA 2048",
    "rsa3072": "RSA 3072",
    "rsa4096": "RSA 4096",
    "p256": "ECDSA P-256",
    "p384": "ECDSA P-384",
}

_RSA_BITS = {"rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}
_CURVES: dict[str, ec.EllipticCurve] = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1()}
# Curve names as OpenSSL calls them -> as people and CAs call them.
CURVE_WORDS = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
#: Curves public CAs accept in end-entity CSRs (CA/Browser Forum Baseline Requirements 6.1.5).
ACCEPTED_CURVES = frozenset({"secp256r1", "secp384r1"})


def generate_key(algorithm: str) -> bytes:
    """Generate a private key; return it as unencrypted PKCS#8 PEM (seal it at once)."""
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if algorithm in _RSA_BITS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[algorithm])
    elif algorithm in _CURVES:
        key = ec.generate_private_key(_CURVES[algorithm])
    else:
        choices = ", ".join(KEY_ALGORITHMS.values())
        raise ValidationError(f"Unknown key algorithm “{algorithm}”. Choose one of: {choices}.")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key(key_pem: bytes) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """Load an unencrypted RSA or EC PEM private key; ValidationError (never echoing it) if not."""
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        # Never echo the input: it is (or should be) a secret.
        raise ValidationError(
            "The stored private key could not be read (it is damaged or passphrase-protected)."
        ) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ValidationError("Only RSA and ECDSA private keys are supported.")
    return key


def describe_public_key(key: PublicKeyTypes) -> str:
    """Name a public key the way people do: "RSA 2048", "ECDSA P-256", "Ed25519"."""
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {CURVE_WORDS.get(key.curve.name, key.curve.name)}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448"
    if isinstance(key, dsa.DSAPublicKey):
        return f"DSA {key.key_size}"
    return type(key).__name__.removesuffix("PublicKey") or "unknown"


def public_key_sha256(key: PublicKeyTypes) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo: equal for a key, its CSR and certificate."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def key_problem(key: PublicKeyTypes) -> str | None:
    """Why a public CA would refuse this key, in words a person can act on; None if fine."""
    fix = "Use RSA 2048 or larger, or ECDSA P-256 or P-384 — or let certdesk generate the key."
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            return (
                f"The key is RSA {key.key_size}, which is too weak: "
                f"CAs require at least RSA 2048. {fix}"
            )
        if key.key_size > 8192 or key.key_size % 8:
            return f"The key is RSA {key.key_size}, a size CAs do not accept. {fix}"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name in ACCEPTED_CURVES:
            return None
        return f"The key is ECDSA on curve {key.curve.name}, which CAs do not accept. {fix}"
    return f"The key is {describe_public_key(key)}, which CAs do not accept. {fix}"
