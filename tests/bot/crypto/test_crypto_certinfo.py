"""Tests for bot.crypto.certinfo: what people are told about an issued certificate."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from support.csrs import issue, openssl

from bot import crypto
from bot.errors import ValidationError


@pytest.fixture(scope="module")
def key_pem() -> bytes:
    return crypto.generate_key("p256")


@pytest.fixture(scope="module")
def chain(key_pem: bytes) -> bytes:
    return issue(key_pem, ["example.com", "*.Example.com"], days=90)[0]


def test_describe_certificate_matches_openssl(chain: bytes, tmp_path: Path) -> None:
    info = crypto.describe_certificate(chain)
    (tmp_path / "c.pem").write_bytes(chain)
    out = openssl("x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha256", "-serial",
                  cwd=tmp_path).decode()  # fmt: skip
    fingerprint = re.search(r"Fingerprint=([0-9A-F:]+)", out)
    serial = re.search(r"serial=([0-9A-F]+)", out)
    assert fingerprint and info.sha256_fingerprint == fingerprint.group(1)
    assert serial and int(info.serial, 16) == int(serial.group(1), 16)
    assert info.subject == "CN=example.com"
    assert info.issuer == "CN=certdesk test CA"
    assert info.names == ("example.com", "*.example.com")


def test_validity_is_aware_utc(chain: bytes) -> None:
    info = crypto.describe_certificate(chain)
    assert info.not_before.tzinfo is not None and info.not_after.utcoffset() == dt.timedelta(0)
    assert info.not_after - info.not_before == dt.timedelta(days=90)


def test_certificate_key_fingerprint_equals_the_csrs(key_pem: bytes, chain: bytes) -> None:
    csr = crypto.load_csr(crypto.make_csr(key_pem, ["example.com"]))
    assert crypto.describe_certificate(chain).public_key_sha256 == csr.public_key_sha256


def test_split_chain_keeps_order_and_normalizes(chain: bytes) -> None:
    messy = b"\r\n".join(chain.split(b"\n")) + b"\n\n"
    parts = crypto.split_chain(messy)
    assert len(parts) == 2
    leaf, ca = (x509.load_pem_x509_certificate(p) for p in parts)
    assert leaf.issuer == ca.subject and leaf.subject != ca.subject
    assert b"".join(parts) == chain


def test_split_chain_skips_other_blocks(key_pem: bytes, chain: bytes) -> None:
    csr = crypto.make_csr(key_pem, ["example.com"])
    assert len(crypto.split_chain(csr + chain)) == 2


def test_split_chain_without_certificates(key_pem: bytes) -> None:
    with pytest.raises(ValidationError, match="No certificate"):
        crypto.split_chain(b"nothing here")
    with pytest.raises(ValidationError, match="No certificate"):
        crypto.split_chain(crypto.make_csr(key_pem, ["example.com"]))


def test_damaged_certificate_is_reported(chain: bytes) -> None:
    lines = chain.decode().splitlines()
    lines[3] = "A" * 64
    with pytest.raises(ValidationError, match="damaged"):
        crypto.describe_certificate("\n".join(lines).encode())


def test_key_matches_certificate(key_pem: bytes, chain: bytes) -> None:
    assert crypto.key_matches_certificate(key_pem, chain)
    assert not crypto.key_matches_certificate(crypto.generate_key("p256"), chain)
    rsa_pem = crypto.generate_key("rsa2048")
    assert not crypto.key_matches_certificate(rsa_pem, chain)
    rsa_chain = issue(rsa_pem, ["example.com"])[0]
    assert crypto.key_matches_certificate(rsa_pem, rsa_chain)
    legacy = serialization.load_pem_private_key(rsa_pem, None).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert crypto.key_matches_certificate(legacy, rsa_chain)


def test_certificate_without_san_uses_the_cn(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(crypto.generate_key("p256"))
    cert = openssl("req", "-new", "-x509", "-key", str(key), "-subj", "/CN=Legacy.Example",
                   "-days", "2", cwd=tmp_path)  # fmt: skip
    assert crypto.describe_certificate(cert).names == ("legacy.example",)
