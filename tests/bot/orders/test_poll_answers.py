"""What each answer of the CA does to an order (bot.orders.polling), with the fakes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from support.ca_flow import actions, load_order
from support.fake_orders import ALICE, BOB, AtCA, order_at_ca
from support.fakes import FakeDesk

from bot.ca.base import CAState, CAStatus, Validation
from bot.errors import CAError
from bot.orders.backoff import MAX_BACKOFF
from bot.orders.polling import poll_due, poll_order
from bot.workflow import State
from storage import queries
from storage import reminder_slots as slots
from storage.models import utcnow

TEAM_CHANNEL = "CTEAM"
MAILBOX = "admin@example.com"
WAITING = CAStatus(
    CAState.AWAITING_VERIFICATION,
    validations=(Validation(domain="example.com", method="email", mailbox=MAILBOX),),
)


@pytest.fixture
def desk(make_fake_desk: Callable[..., FakeDesk]) -> FakeDesk:
    """A FakeDesk with a team channel and a one-minute poll interval."""
    return make_fake_desk(CERTDESK_NOTIFY_CHANNEL=TEAM_CHANNEL, CERTDESK_POLL_INTERVAL="1m")


def reminder_recipients(desk: FakeDesk, order_id: int) -> list[str]:
    with desk.services.sessions.begin() as session:
        rows = slots.pending_for(session, order_id, kinds=(slots.VERIFICATION,))
        return sorted(r.recipient_id for r in rows)


def detail(desk: FakeDesk, order_id: int, action: str) -> dict:
    with desk.services.sessions.begin() as session:
        found = [e for e in queries.audit_trail(session, order_id) if e.action == action]
        assert len(found) == 1, (action, [e.action for e in found])
        return dict(found[0].detail)


def test_awaiting_verification_moves_the_order_starts_reminders_and_tells_the_channel(
    desk: FakeDesk,
) -> None:
    order = order_at_ca(desk, watchers=(BOB,))
    desk.ca.script(order.ca_ref, WAITING)
    now = utcnow()
    poll_order(desk.services, order.order_id, now=now)
    stored = load_order(desk.services, order.order_id)
    assert stored.state == State.AWAITING_VERIFICATION
    assert stored.verification_started_at == now
    assert stored.next_poll_at == now + timedelta(minutes=1)
    assert reminder_recipients(desk, order.order_id) == [ALICE, BOB]
    (line,) = desk.notifier.posts_in(TEAM_CHANNEL)
    assert f"{stored.ref} passed review" in line.text and MAILBOX in line.text
    assert desk.notifier.dms_to(ALICE) == [], "the requester hears it from the reminders"
    assert detail(desk, order.order_id, "verification_requested") == {
        "ca_state": "awaiting_verification",
        "validations": [
            {"domain": "example.com", "method": "email", "mailbox": MAILBOX, "done": False}
        ],
    }
    # Asked again, the same answer changes nothing and tells nobody again.
    poll_order(desk.services, order.order_id, now=now + timedelta(minutes=1))
    assert len(desk.notifier.posts_in(TEAM_CHANNEL)) == 1
    assert actions(desk.services, order.order_id).count("verification_requested") == 1


def test_a_refusal_fails_the_order_and_tells_the_requester_why(desk: FakeDesk) -> None:
    order = order_at_ca(desk)
    reason = "The legal name does not match the company register."
    desk.ca.script(order.ca_ref, CAStatus(CAState.FAILED, reason=reason))
    poll_order(desk.services, order.order_id)
    stored = load_order(desk.services, order.order_id)
    assert (stored.state, stored.failure_reason, stored.next_poll_at) == (
        State.FAILED,
        reason,
        None,
    )
    (told,) = desk.notifier.dms_to(ALICE)
    assert reason in told.text
    assert detail(desk, order.order_id, "failed")["reason"] == reason


def test_a_ca_error_that_is_not_an_outage_fails_the_order_with_its_words(desk: FakeDesk) -> None:
    order = order_at_ca(desk)
    desk.ca.script(order.ca_ref, CAError("The CA does not know this order."))
    poll_order(desk.services, order.order_id)
    assert load_order(desk.services, order.order_id).state == State.FAILED
    (told,) = desk.notifier.dms_to(ALICE)
    assert "The CA does not know this order." in told.text


def test_an_outage_backs_off_doubling_up_to_the_cap_then_recovers(desk: FakeDesk) -> None:
    order = order_at_ca(desk)
    desk.ca.script(order.ca_ref, *[CAError("503 from the CA", retryable=True)] * 8, WAITING)
    now, waits = utcnow(), []
    for _ in range(8):
        poll_order(desk.services, order.order_id, now=now)
        stored = load_order(desk.services, order.order_id)
        assert stored.state == State.SUBMITTED and stored.next_poll_at is not None
        waits.append(stored.next_poll_at - now)
        now = stored.next_poll_at
    minute = timedelta(minutes=1)
    assert waits == [minute * 2**i for i in range(6)] + [MAX_BACKOFF, MAX_BACKOFF]
    assert load_order(desk.services, order.order_id).poll_failures == 8
    assert detail(desk, order.order_id, "ca_unreachable") == {
        "problem": "503 from the CA",
        "retry_in_seconds": 60,
    }, "the first failure of a run is recorded, not every one"
    assert desk.notifier.posted == [], "an outage is nobody's news"
    poll_order(desk.services, order.order_id, now=now)
    stored = load_order(desk.services, order.order_id)
    assert (stored.state, stored.poll_failures) == (State.AWAITING_VERIFICATION, 0)
    assert stored.next_poll_at == now + minute
    assert "ca_reachable_again" in actions(desk.services, order.order_id)


def test_issued_stores_the_checked_certificate_and_delivers_it(desk: FakeDesk) -> None:
    order = order_at_ca(desk, watchers=(BOB,))
    chain = order.chain()
    desk.ca.script(order.ca_ref, CAState.ISSUED)
    desk.ca.certificates[order.ca_ref] = chain
    poll_order(desk.services, order.order_id)
    stored = load_order(desk.services, order.order_id)
    assert (stored.state, stored.certificate_pem, stored.next_poll_at) == (
        State.ISSUED,
        chain.decode(),
        None,
    )
    (upload,) = desk.notifier.uploads_to(ALICE)
    assert upload.content == chain and desk.notifier.uploads_to(BOB) == []
    assert any("is issued" in m.text for m in desk.notifier.dms_to(BOB))
    poll_order(desk.services, order.order_id)  # an issued order is polled no more
    assert desk.ca.calls.count(("fetch_certificate", order.ca_ref)) == 1


def test_a_certificate_missing_a_domain_fails_the_order(desk: FakeDesk) -> None:
    order: AtCA = order_at_ca(desk)
    desk.ca.script(order.ca_ref, CAState.ISSUED)
    desk.ca.certificates[order.ca_ref] = order.chain(names=["example.com"])
    poll_order(desk.services, order.order_id)
    stored = load_order(desk.services, order.order_id)
    assert stored.state == State.FAILED and stored.certificate_pem is None
    assert "does not cover www.example.com" in (stored.failure_reason or "")


def test_a_certificate_not_ready_yet_backs_off(desk: FakeDesk) -> None:
    order = order_at_ca(desk)
    desk.ca.script(order.ca_ref, CAState.ISSUED)  # no certificate scripted: retryable CAError
    now = utcnow()
    poll_order(desk.services, order.order_id, now=now)
    stored = load_order(desk.services, order.order_id)
    assert (stored.state, stored.poll_failures) == (State.SUBMITTED, 1)
    assert stored.next_poll_at == now + timedelta(minutes=1)


def test_cancelled_at_the_ca_ends_the_order_and_tells_its_people(desk: FakeDesk) -> None:
    order = order_at_ca(desk)
    desk.ca.script(order.ca_ref, WAITING, CAState.CANCELLED)
    poll_order(desk.services, order.order_id)
    assert reminder_recipients(desk, order.order_id) == [ALICE]
    poll_order(desk.services, order.order_id)
    stored = load_order(desk.services, order.order_id)
    assert (stored.state, stored.next_poll_at) == (State.CANCELLED, None)
    assert reminder_recipients(desk, order.order_id) == []
    assert any("cancelled at the CA" in m.text for m in desk.notifier.dms_to(ALICE))


def test_the_sweep_polls_only_due_orders(desk: FakeDesk) -> None:
    due = order_at_ca(desk, ca_ref="FAKE-DUE")
    later = order_at_ca(desk, ca_ref="FAKE-LATER")
    with desk.services.sessions.begin() as session:
        stored = queries.get_order(session, later.order_id)
        assert stored is not None
        stored.next_poll_at = utcnow() + timedelta(hours=1)
    desk.ca.script(due.ca_ref, WAITING)
    desk.ca.script(later.ca_ref, WAITING)
    assert poll_due(desk.services, now=utcnow()) == 1
    assert [c for c in desk.ca.calls if c[0] == "status"] == [("status", "FAKE-DUE")]
