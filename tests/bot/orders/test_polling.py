"""Polling the CA: review, verification, issuance, failure, outages, expiry and renewal."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from support.app_fixtures import ADMIN, ALICE, BOB, CAROL, Running
from support.ca_flow import (
    Clock,
    actions,
    latest_link,
    load_order,
    submitted_order,
    verify_chain,
)
from support.journeys import button_elements

from bot import crypto
from bot.ca.base import CAStatus
from bot.errors import CAError, NotAllowed
from bot.orders import renewal
from bot.orders.polling import poll_due, poll_order
from storage.models import DeliveredFile, Draft, Order, Watcher

NOTIFY = "CNOTIFY"


class FlakyCA:
    """Wraps the real CA; while ``down``, every call fails as an outage would."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.down = False
        self.status_calls: Counter[str] = Counter()
        self.slow: float = 0.0

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)

    def status(self, ca_ref: str) -> CAStatus:
        self.status_calls[ca_ref] += 1
        if self.down:
            raise CAError("The CA answered 503 Service Unavailable.", retryable=True)
        if self.slow:
            threading.Event().wait(self.slow)
        return self.real.status(ca_ref)  # type: ignore[attr-defined]

    def fetch_certificate(self, ca_ref: str) -> bytes:
        if self.down:
            raise CAError("The CA answered 503 Service Unavailable.", retryable=True)
        return self.real.fetch_certificate(ca_ref)  # type: ignore[attr-defined]


@pytest.fixture
def desk(start_certdesk: Callable[..., Running]) -> Running:
    running = start_certdesk(CERTDESK_NOTIFY_CHANNEL=NOTIFY, CERTDESK_POLL_INTERVAL="1m")
    running.emulator.add_channel(NOTIFY)
    return running


@pytest.fixture
def clock(desk: Running) -> Clock:
    clock = Clock()
    desk.services.ca.clock = clock  # type: ignore[attr-defined]
    return clock


def _watch(desk: Running, order_id: int, user: str) -> None:
    with desk.services.sessions.begin() as session:
        session.add(Watcher(order_id=order_id, user_id=user, added_by=ALICE))


def _to_verification(desk: Running, clock: Clock, user: str = ALICE) -> int:
    order_id = submitted_order(desk.services, user)
    clock.advance(desk.services.settings.sim_review_delay)
    assert poll_due(desk.services, now=clock.now) >= 1
    assert load_order(desk.services, order_id).state == "awaiting_verification"
    return order_id


def _confirm(desk: Running, order_id: int) -> None:
    order = load_order(desk.services, order_id)
    assert order.ca_ref
    token = latest_link(desk.services, order.ca_ref).rsplit("/", 1)[1]
    ok, _sentence = desk.services.ca.confirm(token)  # type: ignore[attr-defined]
    assert ok


def test_review_then_verification_is_applied_once_and_told_to_the_channel(
    desk: Running, clock: Clock
) -> None:
    order_id = submitted_order(desk.services, ALICE)
    # Still under review: nothing changes, and nothing is audited for an unchanged poll.
    before = actions(desk.services, order_id)
    poll_order(desk.services, order_id, now=clock.now)
    assert load_order(desk.services, order_id).state == "submitted"
    assert actions(desk.services, order_id) == before
    clock.advance(timedelta(minutes=2))
    assert poll_due(desk.services, now=clock.now) == 1
    order = load_order(desk.services, order_id)
    assert order.state == "awaiting_verification"
    assert order.verification_started_at == clock.now
    assert order.next_poll_at == clock.now + timedelta(minutes=1)
    assert actions(desk.services, order_id).count("verification_requested") == 1
    posted = [m.text for m in desk.emulator.messages(NOTIFY)]
    assert any("CD-" in t and "admin@example.com" in t for t in posted), posted
    # Nothing is due until the next poll time; polling again changes nothing.
    assert poll_due(desk.services, now=clock.now) == 0
    poll_order(desk.services, order_id, now=clock.now)
    assert actions(desk.services, order_id).count("verification_requested") == 1


def test_issued_certificate_is_checked_stored_and_delivered_exactly_once(
    desk: Running, clock: Clock
) -> None:
    order_id = _to_verification(desk, clock)
    _confirm(desk, order_id)
    # A button and the job poll at the same moment: one delivery only.
    threads = [
        threading.Thread(
            target=poll_order, args=(desk.services, order_id), kwargs={"now": clock.now}
        )
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    poll_order(desk.services, order_id, now=clock.now)
    order = load_order(desk.services, order_id)
    assert order.state == "issued" and order.certificate_pem and order.not_after
    assert order.next_poll_at is None
    assert actions(desk.services, order_id).count("issued") == 1
    chain = order.certificate_pem.encode()
    info = crypto.describe_certificate(chain)
    assert crypto.load_csr((order.csr_pem or "").encode()).public_key_sha256 == (
        info.public_key_sha256
    )
    assert order.not_after == info.not_after
    root = desk.services.ca.root_certificate_pem()  # type: ignore[attr-defined]
    verify_chain(chain, root_pem=root, name="www.example.com", at=clock.now)
    # The DM names subject, names, issuer, validity and fingerprint.
    issued = [m for m in desk.emulator.dms_to(ALICE) if "is issued" in m.text]
    assert len(issued) == 1
    shown = str(issued[0].blocks)
    for words in ("CN=example.com", "www.example.com", "Simulated Issuing CA", "UTC"):
        assert words in shown
    assert info.sha256_fingerprint in shown
    assert {"download_key", "renew"} <= {e["action_id"] for e in button_elements(issued[0])}
    # The chain went into Alice's DM only, once.
    with desk.services.sessions.begin() as session:
        files = session.scalars(
            select(DeliveredFile).where(
                DeliveredFile.order_id == order_id, DeliveredFile.kind == "chain"
            )
        ).all()
        assert [(f.user_id, f.filename) for f in files] == [
            (ALICE, f"cd-{order_id:04d}.fullchain.pem")
        ]
    uploaded = [f for f in desk.emulator.files if f.filename.endswith(".fullchain.pem")]
    assert len(uploaded) == 1 and uploaded[0].content == chain
    posted = [m.text for m in desk.emulator.messages(NOTIFY)]
    assert any("issued" in t for t in posted)
    assert not any("PRIVATE KEY" in t or "CERTIFICATE-----" in t for t in posted)


def test_a_certificate_for_another_key_is_refused(desk: Running, clock: Clock) -> None:
    order_id = _to_verification(desk, clock)
    _confirm(desk, order_id)
    other = crypto.make_csr(crypto.generate_key("p256"), ["example.com", "www.example.com"])
    with desk.services.sessions.begin() as session:
        order = session.get(Order, order_id)
        assert order is not None
        order.csr_pem = other.decode()
    poll_order(desk.services, order_id, now=clock.now)
    order = load_order(desk.services, order_id)
    assert order.state == "failed" and "different key" in (order.failure_reason or "")
    assert not [f for f in desk.emulator.files if f.filename.endswith(".fullchain.pem")]


def test_a_rejection_fails_the_order_with_the_cas_reason(desk: Running, clock: Clock) -> None:
    order_id = _to_verification(desk, clock)
    ca_ref = load_order(desk.services, order_id).ca_ref
    desk.services.ca.reject(ca_ref, "The domain's CAA record names another CA.")  # type: ignore[attr-defined]
    poll_due(desk.services, now=clock.advance(timedelta(minutes=1)))
    order = load_order(desk.services, order_id)
    assert order.state == "failed" and order.next_poll_at is None
    assert "CAA record" in (order.failure_reason or "")
    failed = [m for m in desk.emulator.dms_to(ALICE) if "failed" in m.text]
    assert failed and "CAA record" in failed[-1].text and "revise" in str(failed[-1].blocks)


def test_a_ca_outage_backs_off_doubling_and_loses_nothing(desk: Running, clock: Clock) -> None:
    flaky = FlakyCA(desk.services.ca)
    desk.services.ca = flaky  # type: ignore[assignment]
    order_id = submitted_order(desk.services, ALICE)
    flaky.down = True
    clock.advance(timedelta(minutes=2))
    delays = []
    for _ in range(8):
        assert poll_due(desk.services, now=clock.now) == 1
        order = load_order(desk.services, order_id)
        assert order.next_poll_at is not None
        delays.append(order.next_poll_at - clock.now)
        assert poll_due(desk.services, now=clock.now) == 0  # not due again until then
        clock.now = order.next_poll_at
    minutes = [int(d.total_seconds() // 60) for d in delays]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60]
    assert load_order(desk.services, order_id).poll_failures == 8
    assert actions(desk.services, order_id).count("ca_unreachable") == 1
    flaky.down = False
    assert poll_due(desk.services, now=clock.now) == 1
    order = load_order(desk.services, order_id)
    assert order.state == "awaiting_verification" and order.poll_failures == 0
    assert "ca_reachable_again" in actions(desk.services, order_id)


def test_an_order_the_ca_never_received_is_sent_again(desk: Running, clock: Clock) -> None:
    order_id = submitted_order(desk.services, ALICE, send=False)
    # Right after submitting, the request's own post-ack work is sending it: hands off.
    assert poll_due(desk.services, now=clock.now) == 0
    assert not load_order(desk.services, order_id).ca_ref
    # A process that died after the ack leaves it for the poller.
    assert poll_due(desk.services, now=clock.advance(timedelta(minutes=3))) == 1
    assert load_order(desk.services, order_id).ca_ref


def test_expiry_sweep_expires_once_and_offers_renewal(desk: Running, clock: Clock) -> None:
    order_id = _to_verification(desk, clock)
    _watch(desk, order_id, BOB)
    _confirm(desk, order_id)
    poll_order(desk.services, order_id, now=clock.now)
    not_after = load_order(desk.services, order_id).not_after
    assert not_after is not None
    assert renewal.expire_due(desk.services, now=not_after - timedelta(seconds=1)) == 0
    assert renewal.expire_due(desk.services, now=not_after) == 1
    assert renewal.expire_due(desk.services, now=not_after) == 0
    assert load_order(desk.services, order_id).state == "expired"
    expired = [m for m in desk.emulator.dms_to(ALICE) if "expired" in m.text]
    assert len(expired) == 1 and "renew" in str(expired[0].blocks)
    watched = [m for m in desk.emulator.dms_to(BOB) if "expired" in m.text]
    assert len(watched) == 1 and not watched[0].blocks  # watchers get no buttons to act


def test_renewal_is_for_owner_or_admin_prefilled_and_started_once(
    desk: Running, clock: Clock
) -> None:
    order_id = _to_verification(desk, clock)
    _watch(desk, order_id, BOB)
    with pytest.raises(Exception, match="only an issued or expired"):
        renewal.renew_order(desk.services, order_id, user_id=ALICE)
    _confirm(desk, order_id)
    poll_order(desk.services, order_id, now=clock.now)
    with pytest.raises(NotAllowed):
        renewal.renew_order(desk.services, order_id, user_id=BOB)  # a watcher
    with pytest.raises(NotAllowed):
        renewal.renew_order(desk.services, order_id, user_id=CAROL)
    new = renewal.renew_order(desk.services, order_id, user_id=ADMIN)
    again = renewal.renew_order(desk.services, order_id, user_id=ALICE)
    assert again.id == new.id and new.renewed_from_id == order_id
    assert new.requester_id == ALICE and new.state == "purchased"
    assert (new.product, new.domain_type, new.domain_count) == ("dv", "multi", 2)
    with desk.services.sessions.begin() as session:
        draft = session.get(Draft, new.id)
        assert draft is not None
        assert draft.data["domains"] == "example.com\nwww.example.com"
        assert draft.data["applicant_email"] == "admin@example.com"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_workers_poll_each_due_order_once(
    start_certdesk: Callable[..., Running], request: pytest.FixtureRequest, database: str
) -> None:
    extra = {}
    if database == "postgresql":
        extra["DATABASE_URL"] = request.getfixturevalue("fresh_postgres")
    desk = start_certdesk(CERTDESK_POLL_INTERVAL="1m", **extra)
    clock = Clock()
    desk.services.ca.clock = clock  # type: ignore[attr-defined]
    flaky = FlakyCA(desk.services.ca)
    flaky.slow = 0.05  # long enough that the two sweeps overlap
    desk.services.ca = flaky  # type: ignore[assignment]
    orders = [
        submitted_order(desk.services, ALICE, domains=(f"s{i}.example.com", f"t{i}.example.com"))
        for i in range(5)
    ]
    clock.advance(timedelta(minutes=2))
    counts: list[int] = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        counts.append(poll_due(desk.services, now=clock.now))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 5
    refs = [load_order(desk.services, o).ca_ref for o in orders]
    assert all(flaky.status_calls[r] == 1 for r in refs), flaky.status_calls
    for o in orders:
        assert load_order(desk.services, o).state == "awaiting_verification"
        assert actions(desk.services, o).count("verification_requested") == 1


def test_slack_429_and_500_delay_the_issuance_dm_and_file_but_lose_neither(
    desk: Running, clock: Clock
) -> None:
    order_id = _to_verification(desk, clock)
    _confirm(desk, order_id)
    desk.emulator.fail_next("chat.postMessage", status=429, retry_after=1)
    desk.emulator.fail_next("files.completeUploadExternal", status=500)
    poll_order(desk.services, order_id, now=clock.now)
    assert load_order(desk.services, order_id).state == "issued"
    failed = [c for c in desk.emulator.calls if not c.ok]
    assert {c.method for c in failed} >= {"chat.postMessage", "files.completeUploadExternal"}
    assert len([m for m in desk.emulator.dms_to(ALICE) if "is issued" in m.text]) == 1
    chains = [f for f in desk.emulator.files if f.filename.endswith(".fullchain.pem")]
    assert len(chains) == 1 and chains[0].uploaded and chains[0].channels
