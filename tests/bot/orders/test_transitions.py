"""transitions.apply: each rule of entering or leaving a state, on a real SQLite file, no Slack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.fakes import FakeDesk

from bot.errors import IllegalTransition
from bot.orders import transitions
from bot.services import Services
from bot.workflow import Event, State
from storage import queries
from storage import reminder_slots as slots
from storage.models import Contact, Order, OrderDomain, Reminder, Watcher

ALICE, BOB = "UALICE", "UBOB"
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(days=2)
ALL_KINDS = (slots.VERIFICATION, slots.ESCALATION, slots.EXPIRY)


def order_in(services: Services, state: State, **columns: object) -> int:
    """An order of ALICE's (BOB watching) stored in ``state``, as earlier steps left it."""
    with services.sessions.begin() as session:
        order = Order(
            team_id="T0001",
            requester_id=ALICE,
            product="dv",
            domain_type="single",
            domain_count=1,
            validity_days=90,
            state=state,
            **columns,
        )
        order.domains = [OrderDomain(position=0, name="example.com", display="example.com")]
        order.applicant = Contact(name="Alice", email="admin@example.com", phone="+442079460958")
        order.watchers = [Watcher(user_id=BOB, added_by=ALICE)]
        session.add(order)
        session.flush()
        return order.id


def apply(services: Services, order_id: int, event: Event, **audit: object) -> State:
    """Apply ``event`` to the stored order in one transaction, as every use case does."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id, for_update=True)
        assert order is not None
        return transitions.apply(session, order, event, actor="someone", now=NOW, **audit)


def stored(services: Services, order_id: int) -> Order:
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        return order


def pending(services: Services, order_id: int, *kinds: str) -> list[tuple[str, str, int]]:
    """(kind, recipient, step) of the order's pending reminder slots."""
    with services.sessions.begin() as session:
        rows = slots.pending_for(session, order_id, kinds=kinds or ALL_KINDS)
        return sorted((r.kind, r.recipient_id, r.step) for r in rows)


def trail(services: Services, order_id: int) -> list[tuple[str, str, dict]]:
    with services.sessions.begin() as session:
        return [(e.actor, e.action, dict(e.detail)) for e in queries.audit_trail(session, order_id)]


def add_slot(services: Services, order_id: int, kind: str, recipient: str = ALICE) -> None:
    with services.sessions.begin() as session:
        session.add(
            Reminder(order_id=order_id, kind=kind, step=3, recipient_id=recipient, due_at=NOW)
        )


@pytest.mark.parametrize(
    ("state", "event"), [(State.PURCHASED, Event.SUBMIT), (State.FAILED, Event.RESUBMIT)]
)
def test_submit_and_resubmit_start_a_fresh_round_polled_now(
    fake_desk: FakeDesk, state: State, event: Event
) -> None:
    services = fake_desk.services
    order_id = order_in(
        services,
        state,
        failure_reason="the CA said no",
        ca_ref="OLD-REF",
        submitted_at=EARLIER,
        poll_failures=4,
    )
    assert apply(services, order_id, event) is state
    order = stored(services, order_id)
    assert order.state == State.SUBMITTED
    assert (order.submitted_at, order.next_poll_at) == (NOW, NOW)
    assert (order.failure_reason, order.ca_ref, order.poll_failures) == (None, None, 0)
    assert trail(services, order_id) == [("someone", event.value, {})]


def test_entering_awaiting_verification_starts_reminders_for_everyone(fake_desk: FakeDesk) -> None:
    services = fake_desk.services
    order_id = order_in(services, State.SUBMITTED, ca_ref="R1", next_poll_at=NOW)
    apply(services, order_id, Event.VERIFICATION_REQUESTED, ca_state="awaiting_verification")
    order = stored(services, order_id)
    assert order.state == State.AWAITING_VERIFICATION and order.verification_started_at == NOW
    assert order.next_poll_at == NOW, "polling goes on while the CA waits for verification"
    assert pending(services, order_id) == [
        (slots.ESCALATION, slots.EVERYONE, 0),
        (slots.VERIFICATION, ALICE, 0),
        (slots.VERIFICATION, BOB, 0),
    ]
    actions = [(a, act) for a, act, _ in trail(services, order_id)]
    assert ("system", "reminders_started") in actions
    assert ("someone", "verification_requested") in actions


def test_leaving_awaiting_verification_stops_its_reminders_but_not_others(
    fake_desk: FakeDesk,
) -> None:
    services = fake_desk.services
    order_id = order_in(services, State.SUBMITTED, ca_ref="R1", next_poll_at=NOW)
    apply(services, order_id, Event.VERIFICATION_REQUESTED)
    add_slot(services, order_id, slots.EXPIRY)  # left from an earlier issuance round
    apply(services, order_id, Event.VERIFIED)
    assert stored(services, order_id).state == State.SUBMITTED
    assert pending(services, order_id, slots.VERIFICATION, slots.ESCALATION) == []
    assert pending(services, order_id, slots.EXPIRY) == [(slots.EXPIRY, ALICE, 3)]


def test_entering_issued_stops_polling_and_schedules_expiry_reminders(fake_desk: FakeDesk) -> None:
    services = fake_desk.services
    order_id = order_in(
        services,
        State.AWAITING_VERIFICATION,
        ca_ref="R1",
        next_poll_at=NOW,
        poll_failures=2,
        not_after=NOW + timedelta(days=90),
    )
    add_slot(services, order_id, slots.VERIFICATION)
    apply(services, order_id, Event.ISSUE, serial="01")
    order = stored(services, order_id)
    assert order.state == State.ISSUED
    assert (order.next_poll_at, order.poll_failures) == (None, 0)
    assert pending(services, order_id, slots.VERIFICATION, slots.ESCALATION) == []
    assert pending(services, order_id, slots.EXPIRY) == sorted(
        (slots.EXPIRY, who, days) for who in (ALICE, BOB) for days in (30, 14, 7, 1)
    )
    assert trail(services, order_id)[-1] == ("someone", "issue", {"serial": "01"})


def test_entering_failed_stops_polling_and_keeps_the_order_resubmittable(
    fake_desk: FakeDesk,
) -> None:
    services = fake_desk.services
    order_id = order_in(services, State.SUBMITTED, ca_ref="R1", next_poll_at=NOW, poll_failures=3)
    apply(services, order_id, Event.FAIL, action="failed", reason="bad CSR")
    order = stored(services, order_id)
    assert order.state == State.FAILED
    assert (order.next_poll_at, order.poll_failures) == (None, 0)
    assert trail(services, order_id) == [("someone", "failed", {"reason": "bad CSR"})]


@pytest.mark.parametrize(
    ("state", "event", "final"),
    [
        (State.AWAITING_VERIFICATION, Event.CANCEL, State.CANCELLED),
        (State.ISSUED, Event.EXPIRE, State.EXPIRED),
        (State.ISSUED, Event.REVOKE, State.REVOKED),
    ],
)
def test_a_final_state_stops_polling_and_every_reminder(
    fake_desk: FakeDesk, state: State, event: Event, final: State
) -> None:
    services = fake_desk.services
    order_id = order_in(services, state, ca_ref="R1", next_poll_at=NOW)
    for kind in ALL_KINDS:
        add_slot(services, order_id, kind, recipient=BOB)
    apply(services, order_id, event)
    order = stored(services, order_id)
    assert order.state == final and order.next_poll_at is None
    assert pending(services, order_id) == []


def test_a_step_the_table_refuses_changes_nothing(fake_desk: FakeDesk) -> None:
    services = fake_desk.services
    order_id = order_in(services, State.PURCHASED)
    with pytest.raises(IllegalTransition):
        apply(services, order_id, Event.ISSUE)
    assert stored(services, order_id).state == State.PURCHASED
    assert trail(services, order_id) == []
