"""The simulated CA under a fake clock: review, email verification, issuance, failure."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store
from support.forms import ORGANIZATION

from bot.ca.base import CABackend, CAState, MemoryStateStore, Organization, Submission
from bot.ca.simulated import SimulatedCA
from bot.ca.simulated.mailer import read_messages, verification_links
from bot.crypto.csr import make_csr
from bot.crypto.keys import generate_key
from bot.errors import CAError

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
PUBLIC_URL = "https://certdesk.example.test"
DOMAINS = ("www.example.com", "example.com", "api.example.com")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryStateStore:
    return MemoryStateStore()


@pytest.fixture
def ca(tmp_path: Path, store: MemoryStateStore, clock: Clock) -> SimulatedCA:
    return _ca(tmp_path, store, clock)


def _ca(data_dir: Path, store: MemoryStateStore, clock: Clock) -> SimulatedCA:
    return SimulatedCA(
        data_dir=data_dir,
        public_url=PUBLIC_URL + "/",
        store=store,
        review_delay=timedelta(minutes=10),
        clock=clock,
    )


_KEY = generate_key("p256")


def submission(
    domains: tuple[str, ...] = DOMAINS,
    *,
    product: str = "dv",
    organization: Organization | None = None,
    csr_domains: tuple[str, ...] | None = None,
    key_pem: bytes = _KEY,
) -> Submission:
    return Submission(
        order_ref="CD-42",
        product=product,
        domains=domains,
        csr_pem=make_csr(key_pem, csr_domains or domains),
        applicant_name="Ada Lovelace",
        applicant_email="ada@example.com",
        applicant_phone="+44 20 7946 0001",
        organization=organization,
    )


def verify_link(ca: SimulatedCA, ca_ref: str) -> str:
    links = verification_links(ca.mail_dir, ca_ref=ca_ref)
    assert links, "no verification email was written"
    return links[-1]


def token_of(link: str) -> str:
    prefix = PUBLIC_URL + "/sim-ca/verify/"
    assert link.startswith(prefix)
    return link.removeprefix(prefix)


def test_is_a_ca_backend(ca: SimulatedCA) -> None:
    assert isinstance(ca, CABackend)
    assert ca.name == "simulated"
    assert ca.caa_identities == ("certdesk.invalid",)


def test_full_lifecycle(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    assert ref.startswith("SIM-")
    assert ca.status(ref).state is CAState.REVIEWING
    assert not ca.mail_dir.exists() or not read_messages(ca.mail_dir)

    clock.advance(minutes=9, seconds=59)
    assert ca.status(ref).state is CAState.REVIEWING

    clock.advance(seconds=1)
    status = ca.status(ref)
    assert status.state is CAState.AWAITING_VERIFICATION
    assert [(v.domain, v.method, v.mailbox, v.done) for v in status.validations] == [
        (d, "email", "ada@example.com", False) for d in DOMAINS
    ]
    # Asking again writes no second email.
    ca.status(ref)
    assert len(read_messages(ca.mail_dir, ca_ref=ref)) == 1
    with pytest.raises(CAError, match="no certificate yet"):
        ca.fetch_certificate(ref)

    clock.advance(days=2)
    # Opening the link (a person, or a mail scanner) only describes it; nothing is verified.
    ok, sentence = ca.describe_link(token_of(verify_link(ca, ref)))
    assert ok and sentence.startswith("Confirm that you control") and ref in sentence
    assert ca.status(ref).state is CAState.AWAITING_VERIFICATION
    assert not ca.describe_link(f"{ref}.wrong-secret")[0]
    ok, sentence = ca.confirm(token_of(verify_link(ca, ref)))
    assert ok, sentence
    assert "www.example.com" in sentence and ref in sentence
    status = ca.status(ref)
    assert status.state is CAState.ISSUED
    assert all(v.done for v in status.validations)
    # Following the link twice is harmless.
    assert ca.confirm(token_of(verify_link(ca, ref)))[0]

    chain = x509.load_pem_x509_certificates(ca.fetch_certificate(ref))
    assert len(chain) == 3
    leaf = chain[0]
    assert leaf.not_valid_before_utc == clock.now
    # notAfter is inclusive (RFC 5280): the last valid second ends exactly 90 days on.
    assert leaf.not_valid_after_utc == clock.now + timedelta(days=90) - timedelta(seconds=1)


def test_verification_email_is_an_rfc5322_message(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    clock.advance(minutes=10)
    ca.status(ref)
    files = list((ca.mail_dir / "new").iterdir())
    assert len(files) == 1
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    assert isinstance(message, EmailMessage)
    assert parseaddr(str(message["To"])) == ("Ada Lovelace", "ada@example.com")
    assert parseaddr(str(message["From"]))[1] == "validation@certdesk.invalid"
    assert all(d in str(message["Subject"]) for d in DOMAINS)
    assert message["Date"].datetime == clock.now
    assert str(message["Message-ID"]).startswith("<") and "@certdesk.invalid>" in str(
        message["Message-ID"]
    )
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert f"{PUBLIC_URL}/sim-ca/verify/{ref}." in text
    assert "example.com" in text and ref in text


def test_token_is_stored_only_hashed(
    ca: SimulatedCA, clock: Clock, store: MemoryStateStore
) -> None:
    ref = ca.submit(submission())
    clock.advance(minutes=10)
    ca.status(ref)
    secret = token_of(verify_link(ca, ref)).partition(".")[2]
    assert secret not in repr(store.load(ref))


def test_resend_invalidates_the_old_link(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    with pytest.raises(CAError, match="not waiting for domain verification"):
        ca.resend_verification(ref)
    clock.advance(minutes=10)
    ca.status(ref)
    old = verify_link(ca, ref)
    ca.resend_verification(ref)  # same second as the first email
    links = verification_links(ca.mail_dir, ca_ref=ref)
    assert len(links) == 2 and links[0] == old and links[1] != old

    ok, sentence = ca.confirm(token_of(old))
    assert not ok and "newer verification email" in sentence
    assert ca.status(ref).state is CAState.AWAITING_VERIFICATION
    assert ca.confirm(token_of(links[1]))[0]
    assert ca.status(ref).state is CAState.ISSUED


@pytest.mark.parametrize(
    "token",
    ["", "nonsense", "SIM-NOPE.abc", "SIM-.x", "../../etc/passwd"],
)
def test_bad_tokens(ca: SimulatedCA, clock: Clock, token: str) -> None:
    ref = ca.submit(submission())
    clock.advance(minutes=10)
    ca.status(ref)
    ok, sentence = ca.confirm(token)
    assert not ok and "not valid" in sentence
    ok, sentence = ca.confirm(f"{ref}.wrong-secret")
    assert not ok and "not valid" in sentence
    assert ca.status(ref).state is CAState.AWAITING_VERIFICATION


def test_verification_window_expires(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    clock.advance(minutes=10)
    ca.status(ref)
    token = token_of(verify_link(ca, ref))
    clock.advance(days=30)
    ok, sentence = ca.confirm(token)
    assert not ok and "no longer works" in sentence
    status = ca.status(ref)
    assert status.state is CAState.FAILED
    assert status.reason is not None
    assert status.reason.startswith("Domain verification was not completed within 30 days")
    with pytest.raises(CAError):
        ca.resend_verification(ref)


def test_window_still_open_just_before_the_end(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    clock.advance(minutes=10)
    ca.status(ref)
    clock.advance(days=30, seconds=-1)
    assert ca.confirm(token_of(verify_link(ca, ref)))[0]


def test_resend_does_not_extend_the_window(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    clock.advance(minutes=10)
    ca.status(ref)
    clock.advance(days=29)
    ca.resend_verification(ref)
    clock.advance(days=1)
    assert not ca.confirm(token_of(verify_link(ca, ref)))[0]
    assert ca.status(ref).state is CAState.FAILED


def test_reject_rule_for_organization(ca: SimulatedCA, clock: Clock) -> None:
    org = Organization(**{**ORGANIZATION.__dict__, "legal_name": "reject-Example Widgets"})
    ref = ca.submit(submission(product="ov", organization=org))
    assert ca.status(ref).state is CAState.REVIEWING
    clock.advance(minutes=10)
    status = ca.status(ref)
    assert status.state is CAState.FAILED
    assert status.reason is not None and "legal name in the business registry" in status.reason
    assert not read_messages(ca.mail_dir, ca_ref=ref)


def test_reject_rule_for_first_domain(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission(("reject-shop.example", "example.com")))
    clock.advance(minutes=10)
    status = ca.status(ref)
    assert status.state is CAState.FAILED
    assert status.reason is not None and "reject-shop.example" in status.reason
    # Only the first domain triggers the rule.
    ok_ref = ca.submit(submission(("example.com", "reject-shop.example")))
    clock.advance(minutes=10)
    assert ca.status(ok_ref).state is CAState.AWAITING_VERIFICATION


def test_reject_method(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    ca.reject(ref, "The applicant could not be reached by phone.")
    status = ca.status(ref)
    assert (status.state, status.reason) == (
        CAState.FAILED,
        "The applicant could not be reached by phone.",
    )
    clock.advance(minutes=10)
    assert ca.status(ref).state is CAState.FAILED  # the review does not resurrect it
    with pytest.raises(CAError, match="cannot be rejected"):
        ca.reject(ref, "again")


def test_reject_during_verification_kills_the_link(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    clock.advance(minutes=10)
    ca.status(ref)
    ca.reject(ref, "Manual vetting failed.")
    ok, sentence = ca.confirm(token_of(verify_link(ca, ref)))
    assert not ok and "Manual vetting failed." in sentence


def test_cancel(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    clock.advance(minutes=10)
    ca.status(ref)
    ca.cancel(ref)
    ca.cancel(ref)  # twice is harmless
    assert ca.status(ref).state is CAState.CANCELLED
    ok, sentence = ca.confirm(token_of(verify_link(ca, ref)))
    assert not ok and "cancelled" in sentence
    clock.advance(days=31)
    assert ca.status(ref).state is CAState.CANCELLED


def test_cannot_cancel_an_issued_order(ca: SimulatedCA, clock: Clock) -> None:
    ref = ca.submit(submission())
    clock.advance(minutes=10)
    ca.status(ref)
    ca.confirm(token_of(verify_link(ca, ref)))
    with pytest.raises(CAError, match="revoke"):
        ca.cancel(ref)


def test_unknown_order(ca: SimulatedCA) -> None:
    with pytest.raises(CAError, match="SIM-UNKNOWN") as caught:
        ca.status("SIM-UNKNOWN")
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"csr_domains": ("www.example.com", "example.com")}, "Missing from the CSR"),
        ({"csr_domains": (*DOMAINS, "extra.example.com")}, "not in the order"),
        ({"product": "ov"}, "needs the organization"),
        ({"product": "gold"}, "not one this CA sells"),
        (
            {
                "product": "ov",
                "organization": Organization(**{**ORGANIZATION.__dict__, "country": "UK"}),
            },
            "use “GB”",
        ),
    ],
)
def test_submit_refuses_what_a_ca_would(ca: SimulatedCA, kwargs: dict, message: str) -> None:
    with pytest.raises(CAError, match=message) as caught:
        ca.submit(submission(**kwargs))
    assert not caught.value.retryable


def test_submit_refuses_a_damaged_csr(ca: SimulatedCA) -> None:
    bad = Submission(**{**submission().__dict__, "csr_pem": b"-----BEGIN CERTIFICATE REQUEST-----"})
    with pytest.raises(CAError, match="CSR"):
        ca.submit(bad)


def test_state_survives_a_new_instance(
    tmp_path: Path, store: MemoryStateStore, clock: Clock
) -> None:
    first = _ca(tmp_path, store, clock)
    ref = first.submit(submission())
    root = first.root_certificate_pem()
    clock.advance(minutes=10)
    second = _ca(tmp_path, store, clock)
    assert second.status(ref).state is CAState.AWAITING_VERIFICATION
    link = verify_link(second, ref)
    third = _ca(tmp_path, store, clock)
    assert third.confirm(token_of(link))[0]
    fourth = _ca(tmp_path, store, clock)
    assert fourth.root_certificate_pem() == root
    chain = x509.load_pem_x509_certificates(fourth.fetch_certificate(ref))
    assert chain[-1].public_bytes(serialization.Encoding.PEM) == root


def test_ca_secrets_on_disk(ca: SimulatedCA) -> None:
    ca.root_certificate_pem()
    directory = ca.data_dir / "simulated-ca"
    for name in ("root.key", "issuing.key"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert not [p for p in ca.data_dir.iterdir() if p.name.startswith(".simulated-ca-")]


# --- the issued certificate ------------------------------------------------------------------


def _issue(ca: SimulatedCA, clock: Clock, sub: Submission) -> list[x509.Certificate]:
    ref = ca.submit(sub)
    clock.advance(minutes=10)
    ca.status(ref)
    assert ca.confirm(token_of(verify_link(ca, ref)))[0]
    return x509.load_pem_x509_certificates(ca.fetch_certificate(ref))


@pytest.mark.parametrize("algorithm", ["p256", "rsa2048"])
def test_certificate_verifies_against_the_root(
    ca: SimulatedCA, clock: Clock, algorithm: str
) -> None:
    key_pem = _KEY if algorithm == "p256" else generate_key(algorithm)
    leaf, issuing, root = _issue(ca, clock, submission(key_pem=key_pem))
    assert root.public_bytes(serialization.Encoding.PEM) == ca.root_certificate_pem()
    anchors = Store(x509.load_pem_x509_certificates(ca.root_certificate_pem()))
    verifier = (
        PolicyBuilder()
        .store(anchors)
        .time(clock.now + timedelta(days=1))
        .build_server_verifier(x509.DNSName("api.example.com"))
    )
    built = verifier.verify(leaf, [issuing])
    assert built[-1] == root
    # Outside its validity the same chain does not verify.
    late = PolicyBuilder().store(anchors).time(clock.now + timedelta(days=91))
    with pytest.raises(x509.verification.VerificationError):
        late.build_server_verifier(x509.DNSName("api.example.com")).verify(leaf, [issuing])
    # Nor for a name the certificate does not hold.
    other = PolicyBuilder().store(anchors).time(clock.now)
    with pytest.raises(x509.verification.VerificationError):
        other.build_server_verifier(x509.DNSName("mail.example.com")).verify(leaf, [issuing])

    key = serialization.load_pem_private_key(key_pem, password=None)
    assert leaf.public_key() == key.public_key()


def test_certificate_profile(ca: SimulatedCA, clock: Clock) -> None:
    leaf, issuing, _ = _issue(ca, clock, submission(product="ov", organization=ORGANIZATION))
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == list(DOMAINS)
    subject = leaf.subject
    assert (
        subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        == ORGANIZATION.legal_name
    )
    assert subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "GB"
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == DOMAINS[0]
    basic = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and not basic.value.ca
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    issuer_ski = issuing.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == issuer_ski.digest
    assert leaf.issuer == issuing.subject
    policies = leaf.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["2.23.140.1.2.2"]


def test_dv_certificate_has_no_organization(ca: SimulatedCA, clock: Clock) -> None:
    leaf = _issue(ca, clock, submission(("*.example.com", "example.com")))[0]
    assert not leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["*.example.com", "example.com"]
