"""The aliyun backend through the real SDK and real HTTP to a stand-in that checks signatures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store
from support.aliyun import backend, standin, submission, wait_for
from support.forms import ORGANIZATION

from bot.ca.base import CAState
from bot.crypto.certinfo import key_matches_certificate, load_certificates
from bot.crypto.csr import make_csr
from bot.crypto.keys import generate_key
from bot.devtools.aliyun import CasStandIn
from bot.errors import CAError

DOMAINS = ("example.com", "www.example.com")


@pytest.fixture
def cas(tmp_path: Path):  # type: ignore[no-untyped-def]
    # Withdrawals are refused for 1.5 s after applying: long enough that a cancel right after
    # applying is refused first even when the machine is busy.
    with standin(tmp_path, validation_delay=0.2, withdraw_refusal=1.5, cancel_delay=0.1) as s:
        yield s


def _verify_chain(cas: CasStandIn, chain_pem: bytes, name: str) -> list[x509.Certificate]:
    certs = load_certificates(chain_pem)
    root = x509.load_pem_x509_certificate(cas.root_pem)
    verifier = (
        PolicyBuilder()
        .store(Store([root]))
        .time(datetime.now(UTC))
        .build_server_verifier(x509.DNSName(name))
    )
    verifier.verify(certs[0], certs[1:])
    return certs


def test_purchases_are_the_instances_not_yet_applied_for(cas: CasStandIn) -> None:
    cas.add_instance("cas_dv-cn-1", "DV", full_domains=2)
    cas.add_instance("cas_ov-cn-2", "OV", full_domains=1, wildcard_domains=1)
    cas.add_instance("cas_dv-cn-3", "DV", full_domains=1, status="normal")
    found = {p.ref: p for p in backend(cas).purchases()}
    assert set(found) == {"cas_dv-cn-1", "cas_ov-cn-2"}
    dv, ov = found["cas_dv-cn-1"], found["cas_ov-cn-2"]
    assert (dv.product, dv.domain_type, dv.domain_count, dv.wildcard_count) == (
        "dv",
        "multiple",
        2,
        0,
    )
    assert (ov.product, ov.domain_type, ov.wildcard_count) == ("ov", "multiple+wildcard", 1)
    assert dv.validity_days == 365
    assert "rsa2048" in dv.key_algorithms and "sm2" not in dv.key_algorithms


def test_dv_two_domains_with_a_certdesk_key_is_issued_as_the_ca_asked(cas: CasStandIn) -> None:
    cas.add_instance("cas_dv-cn-1", "DV", full_domains=2)
    ca = backend(cas)
    key = generate_key("p256")
    csr = make_csr(key, DOMAINS)
    ref = ca.submit(submission(purchase_ref="cas_dv-cn-1", csr_pem=csr))
    assert ref == "cas_dv-cn-1"
    actions = cas.actions()
    assert actions.index("UpdateInstance") < actions.index("ApplyCertificate")
    update = cas.last("UpdateInstance").params
    assert update["Domain"] == "example.com,www.example.com"
    assert update["GenerateCsrMethod"] == "upload" and update["KeyAlgorithm"] == "ECC_256"
    sent = x509.load_pem_x509_csr(update["Csr"].encode())
    san = sent.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == list(DOMAINS)
    assert update["ContactIdList.1"] == str(next(iter(cas.cas.contacts)))
    assert "Key" not in update and cas.last("ApplyCertificate").params["InstanceId"] == ref

    waiting = wait_for(ca, ref, CAState.AWAITING_VERIFICATION)
    given = {v["Domain"]: v for v in cas.cas._GetInstanceDetail({"InstanceId": ref})[
        "DomainValidationList"
    ]}  # fmt: skip
    assert [v.domain for v in waiting.validations] == list(DOMAINS)
    for v in waiting.validations:
        raw = given[v.domain]
        assert v.method == "dns-01" and v.record_type == "TXT"
        assert v.record_name == f"{raw['ValidationKey']}.{raw['RootDomain']}"
        assert v.record_value == raw["ValidationValue"]
    assert waiting.validations[1].record_name == "_dnsauth.www.example.com"

    # Publish exactly what certdesk would show; the CA looks the records up itself.
    first, second = waiting.validations
    assert first.record_name and first.record_value and second.record_name
    cas.cas.publish(first.record_name, first.record_value)
    assert ca.status(ref).state == CAState.AWAITING_VERIFICATION  # one of two is not enough
    cas.cas.publish(second.record_name, "a wrong value")
    assert ca.status(ref).state == CAState.AWAITING_VERIFICATION
    cas.cas.publish(second.record_name, second.record_value or "")
    assert ca.status(ref).state == CAState.ISSUED
    chain = ca.fetch_certificate(ref)
    certs = _verify_chain(cas, chain, "www.example.com")
    assert key_matches_certificate(key, certs[0].public_bytes(serialization.Encoding.PEM))
    assert ca.fetch_private_key(ref) is None


def test_a_key_generated_by_alibaba_is_fetched_with_the_certificate(cas: CasStandIn) -> None:
    cas.add_instance("cas_dv-cn-7", "DV", full_domains=1)
    ca = backend(cas)
    sub = submission(
        purchase_ref="cas_dv-cn-7",
        domains=("shop.example.com",),
        key_generated_by_ca=True,
        key_algorithm="rsa2048",
        validation_method="http-01",
    )
    ref = ca.submit(sub)
    update = cas.last("UpdateInstance").params
    assert update["GenerateCsrMethod"] == "online" and "Csr" not in update
    assert update["KeyAlgorithm"] == "RSA_2048" and update["ValidationMethod"] == "HTTP"
    (v,) = wait_for(ca, ref, CAState.AWAITING_VERIFICATION).validations
    assert v.method == "http-01"
    assert v.url == "http://shop.example.com/.well-known/pki-validation/fileauth.txt"
    assert v.content and len(v.content) == 32
    cas.cas.publish(v.url, v.content, kind="HTTP")
    assert ca.status(ref).state == CAState.ISSUED
    chain = ca.fetch_certificate(ref)
    key = ca.fetch_private_key(ref)
    assert key is not None
    leaf = _verify_chain(cas, chain, "shop.example.com")[0]
    assert key_matches_certificate(key, leaf.public_bytes(serialization.Encoding.PEM))


def test_ov_organization_rejected_then_revised_and_issued(cas: CasStandIn) -> None:
    cas.add_instance("cas_ov-cn-2", "OV", full_domains=1)
    ca = backend(cas)
    assert ca.contacts_applicant("ov") and not ca.contacts_applicant("dv")
    key = generate_key("rsa2048")
    sub = submission(
        purchase_ref="cas_ov-cn-2",
        product="ov",
        domains=("example.com",),
        csr_pem=make_csr(key, ["example.com"], organization=ORGANIZATION),
        organization=ORGANIZATION,
        registration_number="GB0123456",
    )
    ref = ca.submit(sub)
    (company,) = cas.cas.companies.values()
    assert company.fields["CompanyName"] == "Example Widgets Ltd"
    assert company.fields["CompanyCode"] == "GB0123456"
    assert company.fields["CountryCode"] == "GB" and company.fields["City"] == "London"
    assert cas.last("UpdateInstance").params["CompanyId"] == str(company.company_id)

    wait_for(ca, ref, CAState.AWAITING_VERIFICATION)
    cas.cas.pass_validation(ref)
    assert ca.status(ref).state == CAState.REVIEWING  # organization review
    cas.cas.reject(ref, "The organization name does not match the business registration.")
    failed = ca.status(ref)
    assert failed.state == CAState.FAILED
    assert "does not match the business registration" in (failed.reason or "")

    ref2 = ca.submit(sub)  # revise and resubmit: same instance, applied again
    assert ref2 == ref
    assert cas.actions().count("ApplyCertificate") == 2
    assert cas.actions().count("CreateCompany") == 1  # the identical record is reused
    assert cas.actions().count("CreateContact") == 1
    wait_for(ca, ref, CAState.AWAITING_VERIFICATION)
    cas.cas.pass_validation(ref)
    cas.cas.approve(ref)
    leaf = _verify_chain(cas, ca.fetch_certificate(ref), "example.com")[0]
    org = leaf.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    assert org[0].value == "Example Widgets Ltd"


def test_ov_without_a_registration_number_is_refused_before_anything_is_applied(
    cas: CasStandIn,
) -> None:
    cas.add_instance("cas_ov-cn-3", "OV", full_domains=1)
    key = generate_key("p256")
    sub = submission(
        purchase_ref="cas_ov-cn-3",
        product="ov",
        domains=("example.com",),
        csr_pem=make_csr(key, ["example.com"]),
        organization=ORGANIZATION,
    )
    with pytest.raises(CAError, match="registration number") as raised:
        backend(cas).submit(sub)
    assert not raised.value.retryable
    assert "ApplyCertificate" not in cas.actions() and "UpdateInstance" not in cas.actions()


def test_cancel_right_after_applying_is_retried_until_the_ca_accepts(cas: CasStandIn) -> None:
    cas.add_instance("cas_dv-cn-4", "DV", full_domains=1)
    ca = backend(cas)
    ref = ca.submit(
        submission(purchase_ref="cas_dv-cn-4", domains=("example.com",),
                   csr_pem=make_csr(generate_key("p256"), ["example.com"]))
    )  # fmt: skip
    ca.cancel(ref)
    refused = [c for c in cas.refused if c.action == "CancelPendingCertificate"]
    assert refused and all(c.error == "OperationDenied.StatusNotSupport" for c in refused)
    assert cas.actions().count("CancelPendingCertificate") == 1
    assert wait_for(ca, ref, CAState.CANCELLED).reason == "The application was withdrawn at the CA."
    ca.cancel(ref)  # withdrawing twice is harmless


def test_an_issued_certificate_cannot_be_withdrawn(cas: CasStandIn) -> None:
    cas.add_instance("cas_dv-cn-5", "DV", full_domains=1)
    ca = backend(cas)
    csr = make_csr(generate_key("p256"), ["example.com"])
    ref = ca.submit(submission(purchase_ref="cas_dv-cn-5", domains=("example.com",), csr_pem=csr))
    wait_for(ca, ref, CAState.AWAITING_VERIFICATION)
    cas.cas.pass_validation(ref)
    with pytest.raises(CAError, match="already issued") as raised:
        ca.cancel(ref)
    assert not raised.value.retryable


def test_every_purchase_is_listed_across_pages(cas: CasStandIn) -> None:
    for n in range(130):
        cas.add_instance(f"cas_dv-cn-{n}", "DV", full_domains=1)
    purchases = backend(cas).purchases()
    assert len({p.ref for p in purchases}) == 130
    assert cas.actions().count("ListInstances") == 2
