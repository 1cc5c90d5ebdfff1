"""The simulated CA's certificates and CRLs, checked by pkilint's CA/Browser Forum linters."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID
from pkilint.bin import lint_cabf_serverauth_cert, lint_crl, lint_pkix_signer_signee_cert_chain
from support.forms import ORGANIZATION

from bot.ca.base import Organization
from bot.ca.simulated.authority import Authority
from bot.ca.simulated.profile import signature_hash
from bot.errors import CAError

NOW = datetime.now(UTC).replace(microsecond=0)  # pkilint judges effective dates by the document
PUBLIC_URL = "https://certdesk.example.com"  # a public name: .test would be "internal"
#: A German organization registered without a state: the subject then has no stateOrProvinceName.
NO_STATE = replace(ORGANIZATION, country="DE", state="")


def run(main: Callable[[list[str]], int], *args: str | Path) -> tuple[int, str]:
    """Run a pkilint command in-process: (number of findings, what it printed)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        count = main([str(a) for a in args])
    return count, out.getvalue() + err.getvalue()


def lint_certificate(path: Path) -> tuple[int, str]:
    """Errors ``lint_cabf_serverauth_cert`` finds, and the type it detected (on stderr)."""
    return run(lint_cabf_serverauth_cert.main, "lint", "-d", "-o", "-s", "ERROR", path)


def write(tmp_path: Path, name: str, cert: x509.Certificate) -> Path:
    path = tmp_path / name
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path / "ca", now=NOW, public_url=PUBLIC_URL)


def issue(
    authority: Authority,
    product: str,
    *,
    organization: Organization | None = None,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
    names: tuple[str, ...] = ("www.example.com", "example.com"),
    days: int = 90,
) -> x509.Certificate:
    key = key or ec.generate_private_key(ec.SECP256R1())
    return authority.issue(
        key.public_key(),
        names=names,
        product=product,
        organization=organization,
        not_before=NOW,
        not_after=NOW + timedelta(days=days),
    )


LEAVES = {
    "dv-ecdsa": ("DV-FINAL-CERTIFICATE", lambda a: issue(a, "dv")),
    "dv-rsa-wildcard-200-days": (
        "DV-FINAL-CERTIFICATE",
        lambda a: issue(
            a,
            "dv",
            key=rsa.generate_private_key(65537, 2048),
            names=("*.example.com", "example.com"),
            days=200,
        ),
    ),
    "ov": ("OV-FINAL-CERTIFICATE", lambda a: issue(a, "ov", organization=ORGANIZATION)),
    "ov-no-state": ("OV-FINAL-CERTIFICATE", lambda a: issue(a, "ov", organization=NO_STATE)),
    "ev": ("EV-FINAL-CERTIFICATE", lambda a: issue(a, "ev", organization=ORGANIZATION)),
}


@pytest.mark.parametrize("kind", LEAVES)
def test_subscriber_certificates_have_no_errors(
    authority: Authority, tmp_path: Path, kind: str
) -> None:
    detected, make = LEAVES[kind]
    leaf = make(authority)
    errors, report = lint_certificate(write(tmp_path, "leaf.pem", leaf))
    assert report.strip() == detected  # linted as what it is meant to be, and nothing else
    assert errors == 0
    # Issuer and subject agree (names, key identifiers, signature) per RFC 5280.
    issuer = write(tmp_path, "issuing.pem", authority.issuing)
    chain_errors, chain_report = run(
        lint_pkix_signer_signee_cert_chain.main,
        "lint",
        "-s",
        "ERROR",
        issuer,
        tmp_path / "leaf.pem",
    )
    assert (chain_errors, chain_report.strip()) == (0, "")


def test_the_issuing_ca_and_root_have_no_errors(authority: Authority, tmp_path: Path) -> None:
    for name, cert, detected in (
        ("issuing.pem", authority.issuing, "INTERNAL-UNCONSTRAINED-TLS-CA"),
        ("root.pem", authority.root, "ROOT-CA"),
    ):
        errors, report = lint_certificate(write(tmp_path, name, cert))
        assert (errors, report.strip()) == (0, detected)
    chain_errors, chain_report = run(
        lint_pkix_signer_signee_cert_chain.main,
        "lint",
        "-s",
        "ERROR",
        tmp_path / "root.pem",
        tmp_path / "issuing.pem",
    )
    assert (chain_errors, chain_report.strip()) == (0, "")


def _without(
    cert: x509.Certificate, oid: x509.ObjectIdentifier, key: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    """``cert`` signed again by its issuer with one extension left out."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for ext in cert.extensions:
        if ext.oid != oid:
            builder = builder.add_extension(ext.value, critical=ext.critical)
    return builder.sign(key, signature_hash(key))


@pytest.mark.parametrize(
    ("oid", "finding"),
    [
        (ExtensionOID.CRL_DISTRIBUTION_POINTS, "revocation_information_absent"),
        (ExtensionOID.AUTHORITY_INFORMATION_ACCESS, "authority_info_access_extension_absent"),
        (ExtensionOID.CERTIFICATE_POLICIES, "certificate_policies_extension_absent"),
        (ExtensionOID.AUTHORITY_KEY_IDENTIFIER, "authority_key_identifier_extension_absent"),
    ],
)
def test_the_lint_catches_a_missing_extension(
    authority: Authority, tmp_path: Path, oid: x509.ObjectIdentifier, finding: str
) -> None:
    """The check above can fail: the same leaf without one required extension has errors."""
    issuing_key = serialization.load_pem_private_key(
        (authority.directory / "issuing.key").read_bytes(), password=None
    )
    assert isinstance(issuing_key, ec.EllipticCurvePrivateKey)
    leaf = _without(issue(authority, "dv"), oid, issuing_key)
    errors, report = lint_certificate(write(tmp_path, "broken.pem", leaf))
    assert errors > 0 and finding in report


def test_crl_and_arl_have_no_errors(authority: Authority, tmp_path: Path) -> None:
    revoked = issue(authority, "ov", organization=ORGANIZATION)
    authority.revoke(revoked.serial_number, at=NOW, reason=1)
    authority.revoke(issue(authority, "dv").serial_number, at=NOW, reason=0)
    (tmp_path / "issuing.crl").write_bytes(authority.crl_der("issuing", now=NOW))
    (tmp_path / "root.crl").write_bytes(authority.crl_der("root", now=NOW))
    for path, kind in ((tmp_path / "issuing.crl", "CRL"), (tmp_path / "root.crl", "ARL")):
        errors, report = run(lint_crl.main, "lint", "-t", kind, "-p", "BR", "-s", "ERROR", path)
        assert (errors, report.strip()) == (0, "")
    crl = x509.load_der_x509_crl((tmp_path / "issuing.crl").read_bytes())
    entry = crl.get_revoked_certificate_by_serial_number(revoked.serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.key_compromise
    assert len(crl) == 2


@pytest.mark.parametrize("reason", [2, 6, 8, 10, 11, -1])
def test_reasons_a_ca_refuses_record_nothing(authority: Authority, reason: int) -> None:
    with pytest.raises(CAError, match=f"reason code {reason}"):
        authority.revoke(1234, at=NOW, reason=reason)
    crl = x509.load_der_x509_crl(authority.crl_der("issuing", now=NOW))
    assert len(crl) == 0


def test_a_revocation_shows_at_once_and_a_crl_is_reused_until_then(
    authority: Authority,
) -> None:
    first = authority.crl_der("issuing", now=NOW)
    assert authority.crl_der("issuing", now=NOW + timedelta(minutes=5)) == first
    authority.revoke(77, at=NOW, reason=4)
    second = authority.crl_der("issuing", now=NOW + timedelta(minutes=6))
    crl = x509.load_der_x509_crl(second)
    assert crl.get_revoked_certificate_by_serial_number(77) is not None
    assert crl.next_update_utc == NOW + timedelta(minutes=6, days=7)
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    older = x509.load_der_x509_crl(first).extensions.get_extension_for_class(x509.CRLNumber)
    assert number > older.value.crl_number
    # An hour on, a newly signed CRL; revoking the same serial again adds no second entry.
    authority.revoke(77, at=NOW + timedelta(hours=2), reason=1)
    later = x509.load_der_x509_crl(authority.crl_der("issuing", now=NOW + timedelta(hours=2)))
    assert later.last_update_utc == NOW + timedelta(hours=2) and len(later) == 1
    entry = later.get_revoked_certificate_by_serial_number(77)
    assert entry is not None and entry.revocation_date_utc == NOW  # the first record wins


def test_a_torn_line_in_the_revocation_log_loses_nothing_else(authority: Authority) -> None:
    authority.revoke(1, at=NOW, reason=1)
    with (authority.directory / "revoked.jsonl").open("a") as log:
        log.write('\n{"serial": "2", "revoked_at": "2026-')  # a crash mid-write
    fresh = Authority(authority.directory, now=NOW, public_url=PUBLIC_URL)
    fresh.revoke(3, at=NOW, reason=5)
    crl = x509.load_der_x509_crl(fresh.crl_der("issuing", now=NOW))
    assert sorted(r.serial_number for r in crl) == [1, 3]
    assert crl.is_signature_valid(fresh.issuing.public_key())  # type: ignore[arg-type]


def test_a_ca_from_before_the_profile_still_works_and_says_so(
    authority: Authority, caplog: pytest.LogCaptureFixture
) -> None:
    root_key = serialization.load_pem_private_key(
        (authority.directory / "root.key").read_bytes(), password=None
    )
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    older = _without(authority.issuing, ExtensionOID.CRL_DISTRIBUTION_POINTS, root_key)
    (authority.directory / "issuing.pem").write_bytes(
        older.public_bytes(serialization.Encoding.PEM)
    )
    reopened = Authority(authority.directory, now=NOW, public_url=PUBLIC_URL)
    assert "move the directory away" in caplog.text
    leaf = issue(reopened, "dv")
    leaf.verify_directly_issued_by(older)
    assert x509.load_der_x509_crl(reopened.crl_der("issuing", now=NOW)).issuer == older.subject
