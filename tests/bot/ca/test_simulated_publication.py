"""A running certdesk serves the simulated CA's certificates and CRLs at the URLs in its leaves."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID
from support.app_fixtures import Running

from bot.ca.base import CAState, Submission
from bot.ca.simulated import SimulatedCA, mailer
from bot.crypto.csr import make_csr
from bot.crypto.keys import generate_key


def get(url: str, *, method: str = "GET") -> tuple[int, str, bytes]:
    """(status, content type, body) of one real HTTP request."""
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def issued(ca: SimulatedCA, domains: tuple[str, ...]) -> tuple[str, bytes, x509.Certificate]:
    """Take one order through the simulated CA: (CA reference, chain PEM, leaf)."""
    key = generate_key("p256")
    ref = ca.submit(
        Submission(
            order_ref="CD-9",
            product="dv",
            domains=domains,
            csr_pem=make_csr(key, list(domains)),
            applicant_name="Ada",
            applicant_email="ada@example.com",
            applicant_phone="+44 20 7946 0000",
        )
    )
    assert ca.status(ref).state is CAState.AWAITING_VERIFICATION  # review delay 0s
    (link,) = mailer.verification_links(ca.mail_dir, ca_ref=ref)
    assert ca.confirm(link.rsplit("/", 1)[1])[0]
    chain = ca.fetch_certificate(ref)
    return ref, chain, x509.load_pem_x509_certificates(chain)[0]


def crl_url(cert: x509.Certificate) -> str:
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    (point,) = points
    assert point.full_name is not None
    (name,) = point.full_name
    return str(name.value)


def issuer_url(cert: x509.Certificate) -> str:
    access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    (issuers,) = [a for a in access if a.access_method == AuthorityInformationAccessOID.CA_ISSUERS]
    return str(issuers.access_location.value)


def fetch_crl(url: str, issuer: x509.Certificate) -> x509.CertificateRevocationList:
    status, content_type, body = get(url)
    assert (status, content_type) == (200, "application/pkix-crl")
    crl = x509.load_der_x509_crl(body)
    assert crl.issuer == issuer.subject
    public_key = issuer.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert crl.is_signature_valid(public_key)
    assert crl.next_update_utc is not None and crl.next_update_utc > crl.last_update_utc
    return crl


def test_crl_and_ca_issuers_are_served_where_the_leaf_says(
    start_certdesk: Callable[..., Running],
) -> None:
    running = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    ca = running.services.ca.inner  # type: ignore[attr-defined]  # inside bot.ca.metered
    assert isinstance(ca, SimulatedCA)
    ref, chain, leaf = issued(ca, ("shop.example.com", "www.shop.example.com"))
    base = f"{running.http.url}/sim-ca/pki/"
    assert crl_url(leaf) == base + "issuing-ca.crl"
    assert issuer_url(leaf) == base + "issuing-ca.cer"

    # caIssuers: the DER issuing CA that signed the leaf, and the one sent in the chain.
    status, content_type, body = get(issuer_url(leaf))
    assert (status, content_type) == (200, "application/pkix-cert")
    issuing = x509.load_der_x509_certificate(body)
    leaf.verify_directly_issued_by(issuing)
    assert issuing == x509.load_pem_x509_certificates(chain)[1]
    # ... and the issuing CA points at the root and the root's CRL the same way.
    status, content_type, body = get(issuer_url(issuing))
    assert (status, content_type) == (200, "application/pkix-cert")
    root = x509.load_der_x509_certificate(body)
    issuing.verify_directly_issued_by(root)
    assert len(fetch_crl(crl_url(issuing), root)) == 0

    before = fetch_crl(crl_url(leaf), issuing)
    assert before.get_revoked_certificate_by_serial_number(leaf.serial_number) is None
    ca.revoke(ref, chain, reason=1)
    after = fetch_crl(crl_url(leaf), issuing)
    entry = after.get_revoked_certificate_by_serial_number(leaf.serial_number)
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.key_compromise
    # Another certificate of the same CA is not swept up with it.
    _, _, other = issued(ca, ("other.example.com",))
    again = fetch_crl(crl_url(other), issuing)
    assert again.get_revoked_certificate_by_serial_number(other.serial_number) is None
    assert again.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("issuing-ca.pem", "GET", 404),
        ("intermediate-ca.crl", "GET", 404),
        ("", "GET", 404),
        ("../verify/x", "GET", 404),
        ("issuing-ca.crl", "POST", 405),
    ],
)
def test_other_names_and_methods_are_refused(
    certdesk: Running, path: str, method: str, status: int
) -> None:
    code, content_type, _ = get(f"{certdesk.http.url}/sim-ca/pki/{path}", method=method)
    assert code == status and content_type.startswith("text/html")
