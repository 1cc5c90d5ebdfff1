"""Tests for bot.crypto.export: key files handed to people open with the passphrase only."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from support.csrs import issue, openssl

from bot import crypto
from bot.crypto import der
from bot.errors import ValidationError

PASS = b"correct horse battery staple"
FAST = 1_000  # enough to exercise the format; the real default is checked once per format


@pytest.fixture(scope="module")
def key_pem() -> bytes:
    return crypto.generate_key("p256")


@pytest.fixture(scope="module")
def chain(key_pem: bytes) -> bytes:
    return issue(key_pem, ["example.com", "www.example.com"])[0]


def _public(pem: bytes, passphrase: bytes | None = None) -> bytes:
    key = serialization.load_pem_private_key(pem, passphrase)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- encrypted PEM -----------------------------------------------------------------------------


def test_encrypted_pem_uses_pbes2_aes256_and_many_pbkdf2_rounds(
    key_pem: bytes, tmp_path: Path
) -> None:
    pem = crypto.export_key_pem_encrypted(key_pem, PASS)
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert _public(pem, PASS) == _public(key_pem)
    (tmp_path / "k.pem").write_bytes(pem)
    parsed = openssl("asn1parse", "-in", "k.pem", cwd=tmp_path).decode()
    assert ":PBES2" in parsed and ":PBKDF2" in parsed
    assert ":hmacWithSHA256" in parsed and ":aes-256-cbc" in parsed
    integers = re.findall(r"prim: INTEGER\s+:([0-9A-F]+)", parsed)
    assert [int(i, 16) for i in integers] == [crypto.KDF_ROUNDS]
    assert crypto.KDF_ROUNDS >= 600_000


def test_encrypted_pem_opens_in_openssl_with_the_passphrase_only(
    key_pem: bytes, tmp_path: Path
) -> None:
    (tmp_path / "k.pem").write_bytes(crypto.export_key_pem_encrypted(key_pem, PASS, rounds=FAST))
    out = openssl("pkey", "-in", "k.pem", "-passin", f"pass:{PASS.decode()}", cwd=tmp_path)
    assert _public(out) == _public(key_pem)
    wrong = subprocess.run(
        ["openssl", "pkey", "-in", "k.pem", "-passin", "pass:wrong", "-noout"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert wrong.returncode != 0


def test_encrypted_pem_wrong_passphrase_fails(key_pem: bytes) -> None:
    pem = crypto.export_key_pem_encrypted(key_pem, PASS, rounds=FAST)
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem, b"wrong passphrase")
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem, None)


def test_encrypted_pem_of_an_rsa_key_and_a_non_ascii_passphrase() -> None:
    rsa_pem = crypto.generate_key("rsa2048")
    passphrase = "pässwörd ключ".encode()
    pem = crypto.export_key_pem_encrypted(rsa_pem, passphrase, rounds=FAST)
    assert _public(pem, passphrase) == _public(rsa_pem)


def test_encrypted_pem_salts_differ(key_pem: bytes) -> None:
    one = crypto.export_key_pem_encrypted(key_pem, PASS, rounds=FAST)
    assert one != crypto.export_key_pem_encrypted(key_pem, PASS, rounds=FAST)


@pytest.mark.parametrize("export", ["pem", "pfx"])
def test_empty_passphrase_is_refused(key_pem: bytes, chain: bytes, export: str) -> None:
    with pytest.raises(ValidationError, match="passphrase"):
        if export == "pem":
            crypto.export_key_pem_encrypted(key_pem, b"")
        else:
            crypto.export_pfx(key_pem, chain, b"", friendly_name=b"x")


def test_plain_export_is_pkcs8(key_pem: bytes) -> None:
    legacy = serialization.load_pem_private_key(key_pem, None).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    plain = crypto.export_key_pem_plain(legacy)
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert _public(plain) == _public(key_pem)


# --- PKCS#12 ---------------------------------------------------------------------------------


def test_pfx_uses_strong_algorithms_everywhere(
    key_pem: bytes, chain: bytes, tmp_path: Path
) -> None:
    pfx = crypto.export_pfx(key_pem, chain, PASS, friendly_name=b"example.com 2026")
    (tmp_path / "k.pfx").write_bytes(pfx)
    info = openssl("pkcs12", "-in", "k.pfx", "-info", "-noout", "-passin",
                   f"pass:{PASS.decode()}", cwd=tmp_path, with_stderr=True).decode()  # fmt: skip
    rounds = crypto.KDF_ROUNDS
    assert f"MAC: sha256, Iteration {rounds}" in info
    assert info.count(f"PBES2, PBKDF2, AES-256-CBC, Iteration {rounds}, PRF hmacWithSHA256") == 2
    assert "Shrouded Keybag" in info and "3DES" not in info and "RC2" not in info


def test_pfx_opens_with_the_passphrase_only(key_pem: bytes, chain: bytes, tmp_path: Path) -> None:
    pfx = crypto.export_pfx(key_pem, chain, PASS, friendly_name=b"example.com", rounds=FAST)
    key, cert, others = pkcs12.load_key_and_certificates(pfx, PASS)
    assert key is not None and cert is not None
    assert key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == _public(key_pem)
    assert len(others) == 1  # the CA after the leaf
    loaded = pkcs12.load_pkcs12(pfx, PASS)
    assert loaded.cert is not None and loaded.cert.friendly_name == b"example.com"
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(pfx, b"wrong")
    (tmp_path / "k.pfx").write_bytes(pfx)
    openssl("pkcs12", "-in", "k.pfx", "-info", "-noout", "-passin", "pass:" + PASS.decode(),
            cwd=tmp_path)  # fmt: skip
    wrong = subprocess.run(
        ["openssl", "pkcs12", "-in", "k.pfx", "-info", "-noout", "-passin", "pass:wrong"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert wrong.returncode != 0 and b"mac verify" in wrong.stderr.lower()


def test_pfx_mac_is_checked_with_a_non_ascii_passphrase(key_pem: bytes, chain: bytes) -> None:
    passphrase = "pässwörd".encode()
    pfx = crypto.export_pfx(key_pem, chain, passphrase, friendly_name=b"x", rounds=FAST)
    key, _, _ = pkcs12.load_key_and_certificates(pfx, passphrase)
    assert key is not None


def test_pfx_tampering_is_detected(key_pem: bytes, chain: bytes) -> None:
    pfx = bytearray(crypto.export_pfx(key_pem, chain, PASS, friendly_name=b"x", rounds=FAST))
    # Flip a byte inside the authenticated content (well before the trailing MacData).
    pfx[len(pfx) // 3] ^= 0x01
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(bytes(pfx), PASS)


def test_pfx_refuses_a_key_that_is_not_the_certificates(chain: bytes) -> None:
    with pytest.raises(ValidationError, match="does not belong"):
        crypto.export_pfx(crypto.generate_key("p256"), chain, PASS, friendly_name=b"x")


def test_der_reader_walks_what_the_writer_wrote() -> None:
    encoded = der.sequence(der.integer(3), der.octet_string(b"x" * 300), der.oid("1.2.840.113549"))
    whole = der.read(encoded)
    assert (whole.tag, whole.offset, whole.end) == (der.SEQUENCE, 0, len(encoded))
    parts = der.children(encoded, whole)
    assert [p.tag for p in parts] == [der.INTEGER, der.OCTET_STRING, der.OID]
    assert encoded[parts[1].start : parts[1].end] == b"x" * 300
    assert encoded[parts[2].offset : parts[2].end] == der.oid("1.2.840.113549")
    assert der.integer(128) == b"\x02\x02\x00\x80"  # sign bit kept clear
    assert der.oid("1.2.840.113549") == bytes.fromhex("06062a864886f70d")
    with pytest.raises(ValueError):
        der.read(encoded[:-1])
