"""certdesk on the ACME backend, driven over signed HTTP, against a real Pebble + challtestsrv.

Validation is real (no PEBBLE_VA_ALWAYS_VALID): the test publishes exactly what certdesk
showed the person, in challtestsrv's DNS or HTTP server, and Pebble checks it.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from support.app_fixtures import ADMIN, ALICE, BOB, Running, wait_for
from support.forms import GOOD_DV
from support.journeys import open_complete, order_state, register
from support.pebble import CHALLTESTSRV, Pebble, free_port, start_pebble

from bot.ca.acme_setup import account_key, secret_name
from bot.ca.base import CAState
from bot.views import ids
from storage import queries
from storage.models import SealedSecret, utcnow


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    with start_pebble(tmp_path_factory.mktemp("pebble")) as server:
        yield server


def acme_certdesk(
    start_certdesk: Callable[..., Running], pebble: Pebble, *, challenge: str, **extra: str
) -> Running:
    return start_certdesk(**{**pebble.certdesk_env(challenge=challenge), **extra})


def submit(running: Running, domains: list[str]) -> int:
    """Alice registers, completes and submits a DV order for ``domains`` (p256 key)."""
    ref = register(running, ALICE, **{ids.DOMAIN_COUNT: str(len(domains))})
    open_complete(running, ALICE, ref)
    body = running.slack.submit_view(ALICE, {**GOOD_DV, ids.DOMAINS: "\n".join(domains)}).json()
    assert body is not None and body["response_action"] == "push", body
    assert running.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    running.settle()  # key, CSR, pre-flight and the CA call run after the ack
    return int(ref[3:])


def order_of(running: Running, order_id: int):  # noqa: ANN201 - a detached Order
    with running.services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        return order


def poll(running: Running, order_id: int) -> None:
    from bot.orders.polling import poll_order

    poll_order(running.services, order_id)


def shown_to_alice(running: Running, order_id: int) -> str:
    """What the verification reminder DM tells Alice to publish (its blocks, as JSON)."""
    from bot.orders.reminding.sender import send_due

    send_due(running.services, worker_id="test", now=utcnow() + timedelta(days=1))
    ref = f"CD-{order_id:04d}"
    found = wait_for(
        lambda: [
            m
            for m in running.emulator.dms_to(ALICE)
            if ref in m.text and ids.CHECK_NOW in json.dumps(m.blocks)
        ],
        what="the verification reminder",
    )
    return json.dumps(found[-1].blocks, ensure_ascii=False)


def check_now(running: Running, order_id: int) -> None:
    """Alice presses *I've verified — check now* on her reminder."""
    response = running.click(ALICE, ids.CHECK_NOW, value=str(order_id))
    assert response.status == 200, response.body
    running.settle()


def poll_until(running: Running, order_id: int, states: set[str]) -> str:
    def reached() -> str | None:
        poll(running, order_id)
        running.settle()
        state = order_state(running, f"CD-{order_id:04d}")
        return state if state in states else None

    return wait_for(reached, timeout=30, what=f"order {order_id} to reach {states}")


def check_certificate(pebble: Pebble, chain_pem: str, domains: list[str]) -> None:
    """The chain verifies up to Pebble's root and the leaf names exactly ``domains``."""
    chain = x509.load_pem_x509_certificates(chain_pem.encode())
    for child, parent in zip(chain, chain[1:], strict=False):
        child.verify_directly_issued_by(parent)
    roots = [c for c in pebble.root_certificates() if c.issuer == c.subject]
    chain[-1].verify_directly_issued_by(next(r for r in roots if r.subject == chain[-1].issuer))
    san = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert sorted(san.value.get_values_for_type(x509.DNSName)) == sorted(domains)


def test_dns01_order_is_issued_after_publishing_the_record_shown(
    start_certdesk: Callable[..., Running], pebble: Pebble
) -> None:
    running = acme_certdesk(start_certdesk, pebble, challenge="dns-01")
    domains = ["dns.journey.example", "www.dns.journey.example"]
    order_id = submit(running, domains)
    assert order_of(running, order_id).ca_ref.startswith(pebble.directory_url.rsplit("/", 1)[0])
    poll(running, order_id)
    assert order_state(running, f"CD-{order_id:04d}") == "awaiting_verification"

    shown = shown_to_alice(running, order_id)
    records = re.findall(r"(_acme-challenge\.[a-z.]+)\s+TXT\s+\\\"([A-Za-z0-9_-]{43})\\\"", shown)
    assert {name for name, _ in records} == {f"_acme-challenge.{d}" for d in domains}, shown
    # Pressing "check now" before publishing only says what is missing; nothing fails.
    check_now(running, order_id)
    missing = wait_for(
        lambda: [m for m in running.emulator.dms_to(ALICE) if "has no TXT record" in m.text]
    )
    assert records[0][1] in missing[-1].text
    assert order_state(running, f"CD-{order_id:04d}") == "awaiting_verification"
    for name, value in records:
        pebble.set_txt(name, value)
    check_now(running, order_id)
    assert poll_until(running, order_id, {"issued", "failed"}) == "issued"
    order = order_of(running, order_id)
    check_certificate(pebble, order.certificate_pem, domains)


def test_http01_order_is_issued_after_serving_the_file_shown(
    start_certdesk: Callable[..., Running], pebble: Pebble
) -> None:
    running = acme_certdesk(start_certdesk, pebble, challenge="http-01")
    domains = ["http.journey.example", "www.http.journey.example"]
    order_id = submit(running, domains)
    poll(running, order_id)
    shown = shown_to_alice(running, order_id)
    urls = re.findall(r"http://([a-z.]+)/\.well-known/acme-challenge/([A-Za-z0-9_-]+)", shown)
    contents = re.findall(r"```([A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43})```", shown)
    assert {host for host, _ in urls} == set(domains), shown
    assert len(contents) == len(urls)
    for (_host, token), content in zip(urls, contents, strict=True):
        assert content.startswith(token + ".")
        pebble.add_http01(token, content)
    check_now(running, order_id)
    assert poll_until(running, order_id, {"issued", "failed"}) == "issued"
    check_certificate(pebble, order_of(running, order_id).certificate_pem, domains)


class InsideDns:
    """A second challtestsrv: the DNS certdesk asks, which the CA does not (split horizon)."""

    def __init__(self, tmp_path: Path) -> None:
        self.address = f"127.0.0.1:{free_port(udp_too=True)}"
        self.management = f"http://127.0.0.1:{free_port()}"
        log = open(tmp_path / "inside-dns.log", "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        self._process = subprocess.Popen(
            [CHALLTESTSRV, "-dns01", self.address, "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-management", self.management.removeprefix("http://"),
             "-defaultIPv6", ""],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def set_txt(self, name: str, value: str) -> None:
        body = json.dumps({"host": name.rstrip(".") + ".", "value": value}).encode()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

        def sent() -> bool:
            try:
                with opener.open(f"{self.management}/set-txt", data=body, timeout=2):
                    return True
            except OSError:
                return False  # not listening yet

        wait_for(sent, timeout=10, what="the inside DNS server")

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=5)
        self._log.close()


def test_a_txt_record_the_ca_cannot_see_fails_the_order_with_a_plain_reason(
    start_certdesk: Callable[..., Running], pebble: Pebble, tmp_path: Path
) -> None:
    inside = InsideDns(tmp_path)
    try:
        running = acme_certdesk(
            start_certdesk, pebble, challenge="dns-01", CERTDESK_DNS_RESOLVER=inside.address
        )
        domains = ["hidden.journey.example", "www.hidden.journey.example"]
        order_id = submit(running, domains)
        poll(running, order_id)
        shown_to_alice(running, order_id)
        status = running.services.ca.status(order_of(running, order_id).ca_ref)
        assert status.state is CAState.AWAITING_VERIFICATION
        for v in status.validations:  # published where certdesk looks, not where the CA does
            assert v.record_name and v.record_value
            inside.set_txt(v.record_name, v.record_value)
        check_now(running, order_id)
        assert poll_until(running, order_id, {"issued", "failed"}) == "failed"
    finally:
        inside.stop()
    reason = order_of(running, order_id).failure_reason or ""
    # Either name may be the one the CA reports first.
    assert re.match(
        r"The CA looked up the TXT record _acme-challenge\.(www\.)?hidden\.journey\.example "
        "and found no matching value",
        reason,
    ), reason
    assert "Publish the record shown" in reason
    dm = wait_for(
        lambda: [m for m in running.emulator.dms_to(ALICE) if f"CD-{order_id:04d} failed" in m.text]
    )
    assert "Traceback" not in dm[-1].text


def test_caa_naming_another_ca_stops_submission_and_quotes_the_record(
    start_certdesk: Callable[..., Running], pebble: Pebble
) -> None:
    pebble.add_caa("caa.journey.example", [("issue", "letsencrypt.org")])
    running = acme_certdesk(start_certdesk, pebble, challenge="dns-01")
    order_id = submit(running, ["caa.journey.example", "www.caa.journey.example"])
    order = order_of(running, order_id)
    assert order.state == "failed" and order.ca_ref is None  # nothing reached the CA
    dm = wait_for(
        lambda: [m for m in running.emulator.dms_to(ALICE) if f"CD-{order_id:04d} failed" in m.text]
    )
    assert '0 issue "letsencrypt.org"' in dm[-1].text
    assert 'Add the CAA record “0 issue "pebble.invalid"” at caa.journey.example' in dm[-1].text


def test_revoke_from_slack_by_the_owner_not_by_others(
    start_certdesk: Callable[..., Running], pebble: Pebble
) -> None:
    running = acme_certdesk(start_certdesk, pebble, challenge="http-01")
    domains = ["revoke.journey.example", "www.revoke.journey.example"]
    order_id = submit(running, domains)
    poll(running, order_id)
    shown_to_alice(running, order_id)
    status = running.services.ca.status(order_of(running, order_id).ca_ref)
    for v in status.validations:
        assert v.url and v.content
        pebble.add_http01(v.url.rsplit("/", 1)[1], v.content)
    check_now(running, order_id)
    assert poll_until(running, order_id, {"issued", "failed"}) == "issued"
    ref = f"CD-{order_id:04d}"

    running.slack.slash_command(ALICE, f"status {ref}")
    running.settle()
    card = next(
        m for m in reversed(running.emulator.messages()) if ids.REVOKE in json.dumps(m.blocks)
    )
    # Bob replays Alice's button: he may not even open the confirmation.
    assert running.click(BOB, ids.REVOKE, value=str(order_id), message=card).status == 200
    running.settle()
    assert running.emulator.current_view(BOB) is None
    assert any("don't have access" in m.text for m in running.emulator.dms_to(BOB))

    assert running.click(ALICE, ids.REVOKE, value=str(order_id), message=card).status == 200
    modal = running.emulator.current_view(ALICE)
    assert modal is not None and modal["callback_id"] == ids.CONFIRM_REVOKE
    assert running.slack.submit_view(ALICE, {ids.REVOKE_REASON: "4"}).json() == {
        "response_action": "clear"
    }
    running.settle()
    assert order_state(running, ref) == "revoked"
    dm = wait_for(lambda: [m for m in running.emulator.dms_to(ALICE) if "was revoked" in m.text])
    assert ref in dm[-1].text and "replaced by a new certificate" in dm[-1].text
    with running.services.sessions.begin() as session:
        trail = {e.action: e.detail for e in queries.audit_trail(session, order_id)}
    assert trail["revoked"]["reason"] == "superseded" and trail["revoked"]["ca"] == "acme"
    # Pebble agrees: revoking the same certificate again is refused as already revoked.
    with pytest.raises(Exception, match="(?i)already revoked"):
        running.services.ca.revoke(
            order_of(running, order_id).ca_ref, order_of(running, order_id).certificate_pem.encode()
        )


def test_account_key_is_created_once_sealed_and_per_directory(
    start_certdesk: Callable[..., Running], pebble: Pebble
) -> None:
    running = acme_certdesk(start_certdesk, pebble, challenge="dns-01")
    services = running.services
    first = account_key(services.sessions, services.custody, directory_url=pebble.directory_url)
    again = account_key(services.sessions, services.custody, directory_url=pebble.directory_url)
    other = account_key(services.sessions, services.custody, directory_url="https://x.invalid/d")
    assert first == again != other and first.startswith(b"-----BEGIN PRIVATE KEY-----")
    with services.sessions.begin() as session:
        row = session.get(SealedSecret, secret_name(pebble.directory_url))
        assert row is not None and b"PRIVATE KEY" not in row.ciphertext
    assert secret_name("https://ca.example/" + "d" * 200).startswith("acme-account:sha256:")


def test_admin_can_revoke_on_the_simulated_ca(start_certdesk: Callable[..., Running]) -> None:
    running = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    order_id = submit(running, ["sim.example.com", "www.sim.example.com", "api.sim.example.com"])
    poll(running, order_id)
    ca = running.services.ca
    ca_ref = order_of(running, order_id).ca_ref
    ca._issue(data := ca._load(ca_ref))  # type: ignore[attr-defined]  # the link was clicked
    ca.store.save(ca_ref, data)  # type: ignore[attr-defined]
    assert poll_until(running, order_id, {"issued"}) == "issued"
    running.slack.slash_command(ADMIN, f"status CD-{order_id:04d}")  # the admin's own card
    running.settle()
    assert running.click(ADMIN, ids.REVOKE, value=str(order_id)).status == 200
    assert running.slack.submit_view(ADMIN, {ids.REVOKE_REASON: "1"}).json() == {
        "response_action": "clear"
    }
    running.settle()
    assert order_state(running, f"CD-{order_id:04d}") == "revoked"
    assert ca._load(ca_ref)["revocation_reason"] == 1  # type: ignore[attr-defined]
    told = [m.text for m in running.emulator.dms_to(ALICE) if "was revoked" in m.text]
    assert told and "<@UADMIN>" in told[-1]
