"""The simulated CA's parts on their own: its local hierarchy, its mailer, its review rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from bot.ca.base import Organization, Submission
from bot.ca.simulated import authority, mailer, review
from bot.ca.simulated.profile import Locations
from bot.crypto.csr import make_csr
from bot.crypto.keys import generate_key
from bot.errors import CAError

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
URL = "https://certdesk.example.test"


def test_hierarchy_is_a_real_root_and_issuing_ca(tmp_path: Path) -> None:
    ca = authority.Authority(tmp_path / "sim", now=NOW, public_url=URL)
    root, issuing = ca.root, ca.issuing
    assert root.subject == root.issuer
    root.verify_directly_issued_by(root)  # self-signed
    issuing.verify_directly_issued_by(root)
    assert issuing.subject != root.subject
    root_bc = root.extensions.get_extension_for_class(x509.BasicConstraints)
    issuing_bc = issuing.extensions.get_extension_for_class(x509.BasicConstraints)
    assert root_bc.critical and root_bc.value.ca
    assert issuing_bc.critical and issuing_bc.value.ca and issuing_bc.value.path_length == 0
    assert issuing.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert root.not_valid_before_utc <= NOW < issuing.not_valid_after_utc
    assert ca.chain() == [issuing, root]


def test_hierarchy_is_created_once(tmp_path: Path) -> None:
    first = authority.Authority(tmp_path / "sim", now=NOW, public_url=URL)
    second = authority.Authority(tmp_path / "sim", now=NOW + timedelta(days=3), public_url=URL)
    assert first.root == second.root and first.issuing == second.issuing


def test_a_racing_creation_keeps_the_first(tmp_path: Path) -> None:
    directory = tmp_path / "sim"
    authority._create(directory, now=NOW, locations=Locations.under(URL))
    kept = (directory / "root.pem").read_bytes()
    # A second process losing the race:
    authority._create(directory, now=NOW, locations=Locations.under(URL))
    assert (directory / "root.pem").read_bytes() == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]


def test_issue_signs_with_the_issuing_ca(tmp_path: Path) -> None:
    ca = authority.Authority(tmp_path / "sim", now=NOW, public_url=URL)
    key = ec.generate_private_key(ec.SECP256R1())
    org = Organization(
        legal_name="Example GmbH",
        country="DE",
        state="",  # no state: left out of the subject rather than empty
        city="Berlin",
        street="Unter den Linden 1",
        postal_code="10117",
        phone="+49 30 1234567",
    )
    leaf = ca.issue(
        key.public_key(),
        names=["a.example.org"],
        product="ev",
        organization=org,
        not_before=NOW,
        not_after=NOW + timedelta(days=30),
    )
    leaf.verify_directly_issued_by(ca.issuing)
    assert "ST=" not in leaf.subject.rfc4514_string()
    assert "O=Example GmbH" in leaf.subject.rfc4514_string()
    with pytest.raises(CAError, match="issuing certificate expires"):
        ca.issue(
            key.public_key(),
            names=["a.example.org"],
            product="dv",
            organization=None,
            not_before=NOW,
            not_after=NOW + timedelta(days=11 * 365),
        )


def test_subject_names_the_domains_and_counts_the_rest() -> None:
    assert mailer.subject_for(["a.example"], ca_ref="SIM-1") == (
        "Action required: confirm control of a.example (order SIM-1)"
    )
    many = [f"d{i}.example" for i in range(7)]
    subject = mailer.subject_for(many, ca_ref="SIM-2")
    assert "d4.example and 2 more" in subject and "d5.example" not in subject


def test_messages_are_filtered_by_order_and_kept_in_order(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    assert mailer.read_messages(mail) == []
    for sequence, (ref, link) in enumerate(
        [
            ("SIM-A", "https://x.test/sim-ca/verify/SIM-A.one"),
            ("SIM-B", "https://x.test/sim-ca/verify/SIM-B.b"),
        ]
        + [("SIM-A", "https://x.test/sim-ca/verify/SIM-A.two")],
        start=1,
    ):
        mailer.write_verification_email(
            mail,
            ca_ref=ref,
            applicant_name="",
            applicant_email="ops@example.com",
            domains=["example.com"],
            link=link,
            sent=NOW,
            expires=NOW + timedelta(days=30),
            sequence=sequence,
        )
    assert mailer.verification_links(mail, ca_ref="SIM-A") == [
        "https://x.test/sim-ca/verify/SIM-A.one",
        "https://x.test/sim-ca/verify/SIM-A.two",
    ]
    assert len(mailer.read_messages(mail)) == 3
    # A message without a display name is still addressed properly.
    assert str(mailer.read_messages(mail, ca_ref="SIM-B")[0]["To"]) == "ops@example.com"


def _submission(**changes: object) -> Submission:
    key = generate_key("p256")
    fields: dict = {
        "order_ref": "CD-1",
        "product": "dv",
        "domains": ("example.com",),
        "csr_pem": make_csr(key, ["example.com"]),
        "applicant_name": "Ada",
        "applicant_email": "ada@example.com",
        "applicant_phone": "",
    }
    fields.update(changes)
    return Submission(**fields)


def test_review_decision() -> None:
    assert review.review_decision(_submission()) is None
    assert review.review_decision(_submission(domains=("Reject-me.example",))) is not None


def test_check_submission_needs_an_applicant_email() -> None:
    with pytest.raises(CAError, match="applicant email"):
        review.check_submission(_submission(applicant_email=""))
