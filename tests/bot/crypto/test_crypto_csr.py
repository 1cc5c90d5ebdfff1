"""Tests for bot.crypto.csr: generated CSRs, and every way an uploaded CSR is refused.

Each refusal is shown with a CSR made by the cryptography library and one made by the
openssl command line, because people upload both kinds.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from support.csrs import (
    corrupt_signature,
    crypto_csr,
    data_file,
    key_pem,
    openssl,
    openssl_csr,
    openssl_key,
    rsa_key,
)
from support.forms import ORGANIZATION

from bot import crypto
from bot.ca.base import Organization
from bot.errors import CSRError

DOMAINS = ("example.com", "*.example.com", "xn--bcher-kva.de")


def refusal(data: bytes) -> str:
    """The message load_csr raises for ``data`` (failing the test if it accepts it)."""
    with pytest.raises(CSRError) as caught:
        crypto.load_csr(data)
    return str(caught.value)


@pytest.fixture(scope="module")
def p256_pem() -> bytes:
    return crypto.generate_key("p256")


@pytest.fixture(scope="module")
def rsa_pem() -> bytes:
    return crypto.generate_key("rsa2048")


# --- generated CSRs --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["p256_pem", "rsa_pem"])
def test_generated_csr_verifies_and_names_exactly_the_domains(
    which: str, request: pytest.FixtureRequest
) -> None:
    key = request.getfixturevalue(which)
    pem = crypto.make_csr(key, DOMAINS)
    csr = x509.load_pem_x509_csr(pem)
    assert csr.is_signature_valid
    assert csr.signature_hash_algorithm is not None
    assert csr.signature_hash_algorithm.name == "sha256"
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == list(DOMAINS)
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "example.com"
    info = crypto.load_csr(pem)
    assert info.names == DOMAINS
    crypto.check_csr_names(info, DOMAINS)
    public = serialization.load_pem_private_key(key, None).public_key()
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert info.public_key_sha256 == hashlib.sha256(spki).hexdigest()


def test_generated_csr_is_accepted_by_openssl(p256_pem: bytes, tmp_path: Path) -> None:
    (tmp_path / "r.csr").write_bytes(crypto.make_csr(p256_pem, DOMAINS, organization=ORGANIZATION))
    text = openssl("req", "-in", "r.csr", "-verify", "-noout", "-text", cwd=tmp_path).decode()
    assert "DNS:example.com, DNS:*.example.com, DNS:xn--bcher-kva.de" in text
    assert "C = GB, ST = Greater London, L = London" in text
    assert "O = Example Widgets Ltd, CN = example.com" in text


def test_organization_fields_go_into_the_subject(p256_pem: bytes) -> None:
    csr = x509.load_pem_x509_csr(crypto.make_csr(p256_pem, DOMAINS, organization=ORGANIZATION))
    subject = {a.oid: a.value for a in csr.subject}
    assert subject == {
        NameOID.COUNTRY_NAME: "GB",
        NameOID.STATE_OR_PROVINCE_NAME: "Greater London",
        NameOID.LOCALITY_NAME: "London",
        NameOID.STREET_ADDRESS: "1 High Street",
        NameOID.POSTAL_CODE: "EC1A 1AA",
        NameOID.ORGANIZATION_NAME: "Example Widgets Ltd",
        NameOID.COMMON_NAME: "example.com",
    }
    assert (
        crypto.load_csr(crypto.make_csr(p256_pem, DOMAINS, organization=ORGANIZATION)).country
        == "GB"
    )


def test_make_csr_refuses_uk_as_a_country(p256_pem: bytes) -> None:
    org = Organization(**{**ORGANIZATION.__dict__, "country": "UK"})
    with pytest.raises(CSRError, match="“GB”"):
        crypto.make_csr(p256_pem, DOMAINS, organization=org)


def test_make_csr_turns_u_labels_into_a_labels_and_drops_duplicates(p256_pem: bytes) -> None:
    info = crypto.load_csr(crypto.make_csr(p256_pem, ["Bücher.de", "xn--bcher-kva.de"]))
    assert info.names == ("xn--bcher-kva.de",)


def test_a_first_name_too_long_for_the_cn_lives_in_the_san_only(p256_pem: bytes) -> None:
    long_name = "a" * 60 + ".example.com"
    info = crypto.load_csr(crypto.make_csr(p256_pem, [long_name, "example.com"]))
    assert info.common_name is None
    assert info.names == (long_name, "example.com")


def test_make_csr_needs_a_domain(p256_pem: bytes) -> None:
    with pytest.raises(CSRError, match="at least one domain"):
        crypto.make_csr(p256_pem, [])


# --- accepted uploads ------------------------------------------------------------------------


def test_openssl_csr_with_san_is_read_with_cn_after_san_names(tmp_path: Path) -> None:
    data = openssl_csr(
        tmp_path, key=openssl_key(tmp_path, "prime256v1"),
        subj="/C=DE/CN=WWW.Example.com", san=["example.com", "www.example.com"],
    )  # fmt: skip
    info = crypto.load_csr(data)
    assert info.names == ("example.com", "www.example.com")  # CN repeats a SAN name
    assert info.common_name == "WWW.Example.com"
    assert info.key_description == "ECDSA P-256"
    assert info.country == "DE"
    assert info.pem.startswith(b"-----BEGIN CERTIFICATE REQUEST-----\n")


def test_openssl_der_csr_is_accepted(tmp_path: Path) -> None:
    data = openssl_csr(tmp_path, subj="/CN=example.com", san=["example.com"], outform="DER")
    assert not data.startswith(b"-----")
    info = crypto.load_csr(data)
    assert info.names == ("example.com",)
    assert info.key_description == "RSA 2048"


def test_pasted_pem_with_crlf_indentation_and_new_header_is_accepted(p256_pem: bytes) -> None:
    pem = crypto.make_csr(p256_pem, ["example.com"]).decode()
    pasted = "\r\n  " + pem.replace("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST").replace(
        "\n", "\r\n    "
    )
    assert crypto.load_csr(pasted.encode()).names == ("example.com",)


def test_base64_without_header_lines_is_accepted(p256_pem: bytes) -> None:
    der = x509.load_pem_x509_csr(crypto.make_csr(p256_pem, ["example.com"])).public_bytes(
        serialization.Encoding.DER
    )
    assert crypto.load_csr(base64.encodebytes(der)).names == ("example.com",)


# --- refusals: not a CSR at all --------------------------------------------------------------


def test_private_key_is_refused_with_a_warning(p256_pem: bytes, tmp_path: Path) -> None:
    for data in (p256_pem, openssl_key(tmp_path, "rsa:2048").read_bytes()):
        message = refusal(data)
        assert "private key, not a CSR" in message and "never share" in message
        assert data.decode().splitlines()[1][:20] not in message


def test_der_private_key_is_refused_with_a_warning(p256_pem: bytes) -> None:
    key = serialization.load_pem_private_key(p256_pem, None)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert "never share" in refusal(der)


def test_csr_pasted_together_with_its_key_is_refused(tmp_path: Path) -> None:
    csr = openssl_csr(tmp_path, subj="/CN=example.com")
    message = refusal(csr + (tmp_path / "shared-rsa2048.key").read_bytes())
    assert "private key as well as the CSR" in message


def test_certificate_is_refused_as_a_certificate(tmp_path: Path) -> None:
    key = openssl_key(tmp_path, "prime256v1")
    cert = openssl("req", "-new", "-x509", "-key", str(key), "-subj", "/CN=example.com",
                   "-days", "1", cwd=tmp_path)  # fmt: skip
    assert "This is a certificate, not a CSR" in refusal(cert)
    der = x509.load_pem_x509_certificate(cert).public_bytes(serialization.Encoding.DER)
    assert "This is a certificate, not a CSR" in refusal(der)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"  \r\n", "empty"),
        (b"hello, here is my domain: example.com", "not a CSR"),
        (b"\x00\x01\x02binary", "not a CSR"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "a public key"),
    ],
)
def test_other_things_say_what_they_are(data: bytes, words: str) -> None:
    assert words in refusal(data)


def test_cut_off_pem_says_to_copy_the_whole_text(p256_pem: bytes) -> None:
    pem = crypto.make_csr(p256_pem, ["example.com"])
    assert "cut off or damaged" in refusal(pem[: len(pem) // 2])


def test_broken_der_inside_pem_is_called_damaged(p256_pem: bytes) -> None:
    pem = crypto.make_csr(p256_pem, ["example.com"]).decode().splitlines()
    pem[2] = "A" * 64  # valid base64, broken ASN.1
    assert "damaged" in refusal("\n".join(pem).encode())


def test_two_csrs_in_one_upload_are_refused(p256_pem: bytes) -> None:
    one = crypto.make_csr(p256_pem, ["example.com"])
    assert "2 CSRs" in refusal(one + one)


# --- refusals: a CSR a CA would reject -------------------------------------------------------


def test_bad_signature_cryptography(p256_pem: bytes) -> None:
    rsa_csr = crypto_csr(rsa_key(), ["example.com"])
    assert "signature does not match" in refusal(corrupt_signature(rsa_csr))


def test_bad_signature_openssl(tmp_path: Path) -> None:
    csr = openssl_csr(tmp_path, subj="/CN=example.com", san=["example.com"], outform="DER")
    corrupted = bytearray(csr)
    corrupted[-1] ^= 0x80
    message = refusal(bytes(corrupted))
    assert "signature does not match" in message
    assert "RSA" not in message  # nothing else is wrong with it


def test_weak_rsa_key_cryptography() -> None:
    message = refusal(crypto_csr(rsa_key(1024), ["example.com"]))
    assert "RSA 1024" in message and "at least RSA 2048" in message


def test_weak_rsa_key_openssl(tmp_path: Path) -> None:
    message = refusal(openssl_csr(tmp_path, newkey="rsa:1024", subj="/CN=example.com"))
    assert "RSA 1024" in message and "at least RSA 2048" in message
    assert "signature" not in message


def test_secp256k1_cryptography() -> None:
    message = refusal(crypto_csr(ec.generate_private_key(ec.SECP256K1()), ["example.com"]))
    assert "secp256k1" in message and "P-256 or P-384" in message


def test_secp256k1_openssl(tmp_path: Path) -> None:
    key = openssl_key(tmp_path, "secp256k1")
    message = refusal(openssl_csr(tmp_path, key=key, subj="/CN=example.com"))
    assert "secp256k1" in message and "P-256 or P-384" in message


def test_ed25519_cryptography() -> None:
    message = refusal(crypto_csr(ed25519.Ed25519PrivateKey.generate(), ["example.com"]))
    assert "Ed25519" in message and "CAs do not accept" in message


def test_ed25519_openssl(tmp_path: Path) -> None:
    key = openssl_key(tmp_path, "ed25519")
    message = refusal(openssl_csr(tmp_path, key=key, subj="/CN=example.com", digest=""))
    assert "Ed25519" in message and "CAs do not accept" in message


def test_dsa_from_openssl_fixture() -> None:
    assert "DSA 2048" in refusal(data_file("crypto_dsa2048.csr"))


@pytest.mark.parametrize(("digest", "words"), [("sha1", "SHA-1"), ("md5", "MD5"),
                                               ("sha224", "SHA-224")])  # fmt: skip
def test_weak_hash_cryptography(digest: str, words: str) -> None:
    message = refusal(crypto_csr(rsa_key(), ["example.com"], digest=digest))
    assert f"signed with {words}" in message and "SHA-256" in message
    assert "signature does not match" not in message


@pytest.mark.parametrize(("digest", "words"), [("sha1", "SHA-1"), ("md5", "MD5")])
def test_weak_hash_openssl(digest: str, words: str, tmp_path: Path) -> None:
    message = refusal(openssl_csr(tmp_path, subj="/CN=example.com", digest=digest))
    assert f"signed with {words}" in message
    assert "signature does not match" not in message


def test_uk_country_cryptography(p256_pem: bytes) -> None:
    key = serialization.load_pem_private_key(p256_pem, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    message = refusal(crypto_csr(key, ["example.com"], country="UK"))
    assert "“UK”" in message and "“GB”" in message


def test_uk_country_openssl(tmp_path: Path) -> None:
    message = refusal(openssl_csr(tmp_path, subj="/C=UK/O=Example/CN=example.com"))
    assert "“UK”" in message and "“GB”" in message


@pytest.mark.parametrize(
    ("country", "words"),
    [("XX", "not a two-letter ISO 3166"), ("gb", "capitals: “GB”"), ("1A", "not a two-letter")],
)
def test_other_bad_countries_openssl(country: str, words: str, tmp_path: Path) -> None:
    assert words in refusal(openssl_csr(tmp_path, subj=f"/C={country}/CN=example.com"))


def test_several_problems_are_listed_together(tmp_path: Path) -> None:
    csr = openssl_csr(tmp_path, newkey="rsa:1024", subj="/C=UK/CN=example.com", digest="sha1")
    message = refusal(csr)
    assert message.count("•") == 3
    assert "SHA-1" in message and "RSA 1024" in message and "“GB”" in message


def test_csr_naming_no_domain_is_refused(tmp_path: Path) -> None:
    assert "names no domain" in refusal(openssl_csr(tmp_path, subj="/O=Example Ltd"))


# --- names compared with the order -----------------------------------------------------------


def test_check_names_reports_missing_and_extra(tmp_path: Path) -> None:
    info = crypto.load_csr(
        openssl_csr(
            tmp_path, subj="/CN=www.example.com", san=["www.example.com", "mail.example.com"]
        )
    )
    with pytest.raises(CSRError) as caught:
        crypto.check_csr_names(info, ["example.com", "www.example.com"])
    message = str(caught.value)
    assert "Missing from the CSR: example.com." in message
    assert "In the CSR but not in the order: mail.example.com." in message


def test_check_names_ignores_case_and_orders(tmp_path: Path) -> None:
    info = crypto.load_csr(
        openssl_csr(tmp_path, subj="/CN=WWW.EXAMPLE.COM", san=["Example.COM", "www.example.com"])
    )
    crypto.check_csr_names(info, ["www.example.com", "EXAMPLE.com"])


def test_check_names_wildcard_and_idn(tmp_path: Path) -> None:
    info = crypto.load_csr(crypto_csr(rsa_key(), ["*.xn--bcher-kva.de", "xn--bcher-kva.de"]))
    crypto.check_csr_names(info, ["xn--bcher-kva.de", "*.xn--bcher-kva.de"])
    with pytest.raises(CSRError, match=r"Missing from the CSR: \*\.example\.com"):
        crypto.check_csr_names(info, ["xn--bcher-kva.de", "*.xn--bcher-kva.de", "*.example.com"])


def test_check_names_counts_a_non_domain_cn_as_extra(tmp_path: Path) -> None:
    info = crypto.load_csr(openssl_csr(tmp_path, subj="/CN=Example Ltd", san=["example.com"]))
    with pytest.raises(CSRError, match="not in the order: example ltd"):
        crypto.check_csr_names(info, ["example.com"])


def test_key_pem_helper_round_trips() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert crypto.load_csr(crypto.make_csr(key_pem(key), ["a.example"])).names == ("a.example",)
