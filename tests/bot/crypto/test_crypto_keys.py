"""Tests for bot.crypto.keys: every offered algorithm generates a usable PKCS#8 key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bot import crypto
from bot.crypto import keys
from bot.errors import ValidationError


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [("rsa2048", "RSA 2048"), ("rsa3072", "RSA 3072"), ("rsa4096", "RSA 4096"),
     ("p256", "ECDSA P-256"), ("p384", "ECDSA P-384")],
)  # fmt: skip
def test_generate_key_makes_the_algorithm_offered(algorithm: str, expected: str) -> None:
    pem = crypto.generate_key(algorithm)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, not encrypted
    key = serialization.load_pem_private_key(pem, password=None)
    assert keys.describe_public_key(key.public_key()) == expected
    assert crypto.KEY_ALGORITHMS[algorithm] == expected
    if isinstance(key, rsa.RSAPrivateKey):
        assert key.private_numbers().public_numbers.e == 65537


def test_generated_keys_differ() -> None:
    assert crypto.generate_key("p256") != crypto.generate_key("p256")


def test_unknown_algorithm_lists_the_choices() -> None:
    with pytest.raises(ValidationError) as caught:
        crypto.generate_key("rsa1024")
    assert "rsa1024" in str(caught.value)
    assert "ECDSA P-384" in str(caught.value)


def test_load_private_key_never_echoes_the_input() -> None:
    secret = b"-----BEGIN PRIVATE KEY-----\nTOPSECRETTOPSECRET\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ValidationError) as caught:
        keys.load_private_key(secret)
    assert "TOPSECRET" not in str(caught.value)


def test_load_private_key_refuses_keys_that_cannot_be_ordered() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValidationError, match="RSA and ECDSA"):
        keys.load_private_key(pem)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (ec.generate_private_key(ec.SECP256R1()).public_key(), None),
        (ec.generate_private_key(ec.SECP384R1()).public_key(), None),
        (ec.generate_private_key(ec.SECP521R1()).public_key(), "secp521r1"),
        (ec.generate_private_key(ec.SECP256K1()).public_key(), "secp256k1"),
    ],
)
def test_key_problem_accepts_only_the_curves_cas_take(key: ec.EllipticCurvePublicKey,
                                                       problem: str | None) -> None:  # fmt: skip
    found = keys.key_problem(key)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
