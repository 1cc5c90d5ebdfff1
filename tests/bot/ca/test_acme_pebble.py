"""The acme backend against a real Pebble: real dns-01 and http-01 validation and failures."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from support.pebble import Pebble, dv_submission, free_port, start_pebble

from bot.ca.acme import AcmeBackend, generate_account_key
from bot.ca.base import CAState, CAStatus, MemoryStateStore, Submission
from bot.dnscheck import Resolver
from bot.errors import CAError, PreflightError


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    with start_pebble(tmp_path_factory.mktemp("pebble")) as server:
        yield server


@pytest.fixture(scope="module")
def account_key() -> bytes:
    return generate_account_key()


def make_backend(
    pebble: Pebble,
    account_key: bytes,
    *,
    challenge: str = "dns-01",
    with_resolver: bool = True,
    store: MemoryStateStore | None = None,
) -> AcmeBackend:
    return AcmeBackend(
        directory_url=pebble.directory_url,
        account_key_pem=account_key,
        contact_email="certs@example.com",
        challenge=challenge,
        store=store or MemoryStateStore(),
        ca_bundle=pebble.ca_bundle,
        caa_identities=("pebble.invalid",),
        resolver=Resolver(pebble.dns_address, timeout=2) if with_resolver else None,
    )


def wait_for(backend: AcmeBackend, ref: str, states: set[CAState], timeout: float = 20) -> CAStatus:
    """Poll status() the way the scheduler does, until it reaches one of ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        status = backend.status(ref)
        if status.state in states or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def check_chain(pebble: Pebble, chain_pem: bytes, domains: Sequence[str]) -> x509.Certificate:
    """The chain verifies up to Pebble's root and the leaf names exactly ``domains``."""
    chain = x509.load_pem_x509_certificates(chain_pem)
    roots = [c for c in pebble.root_certificates() if c.issuer == c.subject]
    assert roots, "Pebble's management API returned no root"
    for child, parent in zip(chain, chain[1:], strict=False):
        child.verify_directly_issued_by(parent)
    top = chain[-1]
    anchor = next(r for r in roots if r.subject == top.issuer)
    top.verify_directly_issued_by(anchor)
    san = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert sorted(san.value.get_values_for_type(x509.DNSName)) == sorted(domains)
    return chain[0]


def test_dns01_issues_after_real_validation(pebble: Pebble, account_key: bytes) -> None:
    domains = ["www.dns.example", "*.dns.example"]
    backend = make_backend(pebble, account_key, challenge="dns-01")
    ref = backend.submit(dv_submission(domains))

    status = backend.status(ref)
    assert status.state is CAState.AWAITING_VERIFICATION
    by_domain = {v.domain: v for v in status.validations}
    assert set(by_domain) == set(domains)
    wild = by_domain["*.dns.example"]
    assert (wild.method, wild.record_name, wild.record_type) == (
        "dns-01",
        "_acme-challenge.dns.example",
        "TXT",
    )
    assert by_domain["www.dns.example"].record_name == "_acme-challenge.www.dns.example"
    assert all(v.record_value and not v.done for v in status.validations)

    # Nothing published yet: the pre-check names both records and nothing is sent to the CA.
    with pytest.raises(PreflightError) as caught:
        backend.request_validation(ref)
    assert "_acme-challenge.dns.example has no TXT record" in str(caught.value)
    assert "_acme-challenge.www.dns.example has no TXT record" in str(caught.value)
    assert backend.status(ref).state is CAState.AWAITING_VERIFICATION

    for v in status.validations:
        assert v.record_name and v.record_value
        pebble.set_txt(v.record_name, v.record_value)
    backend.request_validation(ref)
    final = wait_for(backend, ref, {CAState.ISSUED, CAState.FAILED})
    assert final.state is CAState.ISSUED, final.reason

    chain = backend.fetch_certificate(ref)
    check_chain(pebble, chain, domains)


def test_http01_issues_after_real_validation(pebble: Pebble, account_key: bytes) -> None:
    domains = ["http.example", "www.http.example"]
    backend = make_backend(pebble, account_key, challenge="http-01")
    ref = backend.submit(dv_submission(domains))
    status = backend.status(ref)
    assert status.state is CAState.AWAITING_VERIFICATION
    for v in status.validations:
        assert v.method == "http-01" and v.url and v.content
        assert v.url.startswith(f"http://{v.domain}/.well-known/acme-challenge/")
        token = v.url.rsplit("/", 1)[1]
        assert v.content.startswith(token + ".")  # key authorization = token.thumbprint
        pebble.add_http01(token, v.content)
    backend.request_validation(ref)
    final = wait_for(backend, ref, {CAState.ISSUED, CAState.FAILED})
    assert final.state is CAState.ISSUED, final.reason
    leaf = check_chain(pebble, backend.fetch_certificate(ref), domains)

    # Revocation uses the account key; revoking twice is refused, plainly.
    backend.revoke(ref, leaf.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(CAError, match="already revoked") as caught:
        backend.revoke(ref, leaf.public_bytes(serialization.Encoding.PEM))
    assert not caught.value.retryable


def test_missing_txt_record_fails_with_a_plain_reason(pebble: Pebble, account_key: bytes) -> None:
    backend = make_backend(pebble, account_key, with_resolver=False)  # skip the pre-check
    ref = backend.submit(dv_submission(["missing.example"]))
    backend.request_validation(ref)
    final = wait_for(backend, ref, {CAState.ISSUED, CAState.FAILED})
    assert final.state is CAState.FAILED
    assert final.reason is not None
    assert final.reason.startswith(
        "The CA looked up the TXT record _acme-challenge.missing.example "
        "and found no matching value ("
    )
    assert final.reason.endswith("Publish the record shown and submit again.")
    with pytest.raises(CAError, match="not issued"):
        backend.fetch_certificate(ref)


def test_cancel_deactivates_authorizations(pebble: Pebble, account_key: bytes) -> None:
    backend = make_backend(pebble, account_key)
    ref = backend.submit(dv_submission(["cancel.example", "www.cancel.example"]))
    backend.cancel(ref)
    status = backend.status(ref)
    assert status.state is CAState.CANCELLED, status


def test_same_key_finds_the_existing_account(pebble: Pebble, account_key: bytes) -> None:
    store = MemoryStateStore()
    first = make_backend(pebble, account_key, store=store)
    ref = first.submit(dv_submission(["account.example"]))
    # A fresh process with the same sealed key finds the account and may read its orders.
    again = make_backend(pebble, account_key, store=store)
    assert again.status(ref).state is CAState.AWAITING_VERIFICATION
    # Another account may not.
    stranger = make_backend(pebble, generate_account_key(), store=store)
    with pytest.raises(CAError) as caught:
        stranger.status(ref)
    assert not caught.value.retryable


def test_resend_verification_explains_there_is_no_email(pebble: Pebble, account_key: bytes) -> None:
    with pytest.raises(CAError, match="check now"):
        make_backend(pebble, account_key).resend_verification("anything")


def test_csr_names_must_match_the_domains(pebble: Pebble, account_key: bytes) -> None:
    wrong = dv_submission(["a.example"])
    wrong = Submission(**{**wrong.__dict__, "domains": ("a.example", "b.example")})
    with pytest.raises(CAError, match="generate the CSR again"):
        make_backend(pebble, account_key).submit(wrong)


def test_unreachable_ca_is_retryable(pebble: Pebble, account_key: bytes) -> None:
    backend = AcmeBackend(
        directory_url=f"https://127.0.0.1:{free_port()}/dir",
        account_key_pem=account_key,
        contact_email=None,
        challenge="dns-01",
        store=MemoryStateStore(),
        ca_bundle=pebble.ca_bundle,
    )
    with pytest.raises(CAError, match="Could not reach the ACME CA") as caught:
        backend.submit(dv_submission(["down.example"]))
    assert caught.value.retryable


def test_untrusted_tls_is_reported(pebble: Pebble, account_key: bytes) -> None:
    backend = AcmeBackend(
        directory_url=pebble.directory_url,
        account_key_pem=account_key,
        contact_email=None,
        challenge="dns-01",
        store=MemoryStateStore(),
        ca_bundle=None,  # the system bundle does not know our throwaway CA
    )
    with pytest.raises(CAError, match="TLS certificate"):
        backend.submit(dv_submission(["tls.example"]))


def test_unknown_ref_is_refused(pebble: Pebble, account_key: bytes) -> None:
    with pytest.raises(CAError, match="no record of the ACME order"):
        make_backend(pebble, account_key).status(pebble.directory_url + "/nope")


def test_wildcard_uses_dns01_even_when_http01_is_configured(
    pebble: Pebble, account_key: bytes
) -> None:
    domains = ["mixed.example", "*.mixed.example"]
    backend = make_backend(pebble, account_key, challenge="http-01")
    ref = backend.submit(dv_submission(domains))
    by_domain = {v.domain: v for v in backend.status(ref).validations}
    assert by_domain["mixed.example"].method == "http-01"
    wild = by_domain["*.mixed.example"]
    assert (wild.method, wild.record_name) == ("dns-01", "_acme-challenge.mixed.example")
    plain = by_domain["mixed.example"]
    assert plain.url and plain.content and wild.record_name and wild.record_value
    pebble.add_http01(plain.url.rsplit("/", 1)[1], plain.content)
    pebble.set_txt(wild.record_name, wild.record_value)
    backend.request_validation(ref)
    final = wait_for(backend, ref, {CAState.ISSUED, CAState.FAILED})
    assert final.state is CAState.ISSUED, final.reason
    check_chain(pebble, backend.fetch_certificate(ref), domains)
