"""Reminder slots through the database with an injected clock, against the Slack emulator."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.app_fixtures import ADMIN, ALICE, BOB, CAROL, certdesk_env
from support.reminder_worker import reminder_ids_posted, waiting_order

from bot import workflow
from bot.app import build_services
from bot.config import Settings
from bot.emulator import Emulator
from bot.orders.reminding import posting as reminder_slack
from bot.orders.reminding import schedule_expiry, send_due, stop_reminders
from bot.orders.reminding.sender import Sweep, deliver
from bot.ports import Message
from bot.services import Services
from bot.views import ids
from storage import queries, reminder_claims
from storage.models import Order, Reminder
from storage.reminder_claims import LEASE, claim_next, release_owned

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday, inside London working hours


@pytest.fixture
def make_services(emulator: Emulator, tmp_path: Path) -> Iterator[Callable[..., Services]]:
    built: list[Services] = []

    def make(**extra: str) -> Services:
        env = certdesk_env(emulator, tmp_path / f"data{len(built)}", **extra)
        services = build_services(Settings.load(env))
        built.append(services)
        return services

    yield make
    for services in built:
        services.engine.dispose()


def rows(services: Services, order_id: int, kind: str = "verification") -> list[Reminder]:
    with services.sessions.begin() as session:
        stmt = select(Reminder).where(Reminder.order_id == order_id, Reminder.kind == kind)
        return list(session.scalars(stmt.order_by(Reminder.recipient_id, Reminder.step)))


def reminders_to(emulator: Emulator, user: str) -> list:
    return [m for m in emulator.dms_to(user) if m.metadata]


def test_schedule_steps_go_to_requester_and_watchers(
    emulator: Emulator, make_services: Callable[..., Services]
) -> None:
    services = make_services(CERTDESK_REMINDER_SCHEDULE="1h,4h,1d", CERTDESK_ESCALATE_AFTER="3d")
    order_id = waiting_order(services, requester=ALICE, watchers=(BOB,), started=T0)
    assert send_due(services, worker_id="w", now=T0) == 2
    alice, bob = reminders_to(emulator, ALICE), reminders_to(emulator, BOB)
    assert len(alice) == len(bob) == 1
    assert "CD-" in alice[0].text and "admin@example.com" in alice[0].text
    shown = str(alice[0].blocks)
    assert ids.CHECK_NOW in shown and ids.RESEND_VERIFICATION in shown and ids.SNOOZE in shown
    assert ids.SNOOZE in str(bob[0].blocks) and ids.CHECK_NOW not in str(bob[0].blocks)
    assert "reminder 1" in shown and "closes" in shown and "follow the link" in shown
    # Next steps follow the schedule from the start: 1h, then 1h+4h, then a day more each.
    assert [(r.step, r.due_at) for r in rows(services, order_id) if r.recipient_id == ALICE] == [
        (0, T0),
        (1, T0 + timedelta(hours=1)),
    ]
    assert send_due(services, worker_id="w", now=T0 + timedelta(minutes=59)) == 0
    assert send_due(services, worker_id="w", now=T0 + timedelta(hours=1)) == 2
    assert "reminder 2" in str(reminders_to(emulator, ALICE)[-1].blocks)
    pending = [r for r in rows(services, order_id) if r.sent_at is None]
    assert {(r.step, r.due_at) for r in pending} == {(2, T0 + timedelta(hours=5))}
    # A sweep long after skips the steps it missed instead of sending a burst.
    assert send_due(services, worker_id="w", now=T0 + timedelta(hours=40)) == 2
    pending = [r for r in rows(services, order_id) if r.sent_at is None]
    assert {(r.step, r.due_at) for r in pending} == {(4, T0 + timedelta(hours=53))}


def test_reminders_wait_for_each_persons_working_hours(
    emulator: Emulator, make_services: Callable[..., Services]
) -> None:
    services = make_services(CERTDESK_WORKING_HOURS="09:00-18:00")
    saturday_night = datetime(2026, 11, 7, 20, 0, tzinfo=UTC)
    order_id = waiting_order(services, requester=ALICE, watchers=(CAROL,), started=saturday_night)
    assert send_due(services, worker_id="w", now=saturday_night) == 0
    due = {r.recipient_id: r.due_at for r in rows(services, order_id)}
    assert due[ALICE] == datetime(2026, 11, 9, 9, 0, tzinfo=UTC)  # Monday 09:00 in London
    assert due[CAROL] == datetime(2026, 11, 9, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo
    assert send_due(services, worker_id="w", now=due[CAROL]) == 1
    assert reminders_to(emulator, CAROL) and not reminders_to(emulator, ALICE)
    # Carol's next step (1 day after the start, Monday 10:00 in Tokyo) is due by now too.
    assert send_due(services, worker_id="w", now=due[ALICE]) == 2
    assert len(reminders_to(emulator, ALICE)) == 1 and len(reminders_to(emulator, CAROL)) == 2


def test_a_state_change_stops_pending_and_claimed_reminders(
    emulator: Emulator, make_services: Callable[..., Services]
) -> None:
    services = make_services()
    order_id = waiting_order(services, requester=ALICE, watchers=(BOB,), started=T0)
    claim = claim_next(services.sessions, worker_id="slow", now=T0, skip=set())
    assert claim is not None
    with services.sessions.begin() as session:
        order = session.get(Order, order_id)
        assert order is not None
        order.state = workflow.State.SUBMITTED
        stop_reminders(session, order_id, kind="verification")
    # The claim was taken before the change; it must still not be sent after it.
    assert deliver(Sweep(services, "slow", T0, 0.0, {}), claim) == 0
    assert send_due(services, worker_id="w", now=T0 + timedelta(days=2)) == 0
    assert not reminders_to(emulator, ALICE) and not reminders_to(emulator, BOB)
    assert all(r.cancelled_at for r in rows(services, order_id))
    assert all(r.cancelled_at for r in rows(services, order_id, "escalation"))


# A 429 is retried by slack_sdk (3 retries) before certdesk gives up for now; a 500 is not:
# Slack may have stored the message, so certdesk looks for it before posting again.
@pytest.mark.parametrize(("status", "times"), [(429, 4), (500, 1)])
def test_slack_429_and_500_delay_a_reminder_but_do_not_lose_it(
    emulator: Emulator, make_services: Callable[..., Services], status: int, times: int
) -> None:
    services = make_services()
    order_id = waiting_order(services, requester=ALICE, started=T0)
    services.notifier.dm_channel(ALICE)  # so only chat.postMessage meets the failures
    emulator.fail_next("chat.postMessage", status=status, retry_after=1, times=times)
    assert send_due(services, worker_id="w", now=T0) == 0
    failed = [c for c in emulator.calls_to("chat.postMessage") if not c.ok]
    assert len(failed) == times, "slack_sdk retried before certdesk gave up for now"
    (row,) = rows(services, order_id)
    assert row.sent_at is None and row.attempts == 1 and row.due_at > T0
    assert send_due(services, worker_id="w", now=T0 + timedelta(seconds=10)) == 0
    assert send_due(services, worker_id="w", now=row.due_at) == 1
    assert reminder_ids_posted(reminders_to(emulator, ALICE)) == [row.id]


def test_a_worker_that_died_after_slack_accepted_is_not_doubled(
    emulator: Emulator, make_services: Callable[..., Services]
) -> None:
    services = make_services()
    order_id = waiting_order(services, requester=ALICE, started=T0)
    claim = claim_next(services.sessions, worker_id="dies", now=T0, skip=set())
    assert claim is not None and claim.kind == "verification"
    channel = reminder_slack.channel_for(services, ALICE)
    posted = reminder_slack.post(services, channel, claim.id, Message("CD reminder"))
    # ... and the worker died here. Before its lease ends nobody may take the slot over.
    assert send_due(services, worker_id="other", now=T0 + LEASE / 2) == 0
    assert send_due(services, worker_id="other", now=T0 + LEASE + timedelta(seconds=1)) == 1
    assert reminder_ids_posted(reminders_to(emulator, ALICE)) == [claim.id]
    row = next(r for r in rows(services, order_id) if r.id == claim.id)
    assert row.sent_at is not None and row.message_ts == posted


@pytest.fixture
def hand_backs(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """This test's own record of handed-back owners (the process's is kept until it exits)."""
    fresh: set[str] = set()
    monkeypatch.setattr(reminder_claims, "_handed_back", fresh)
    return fresh


def test_a_process_that_handed_its_claims_back_takes_no_more(
    make_services: Callable[..., Services], hand_backs: set[str]
) -> None:
    services = make_services()
    waiting_order(services, requester=ALICE, watchers=(BOB,), started=T0)
    held = claim_next(services.sessions, worker_id="exiting:1:thread", now=T0, skip=set())
    assert held is not None
    # Exiting: its claims are handed back, and its sweep thread (still running) finds nothing.
    assert release_owned(services.sessions, owner="exiting:1:") == 1
    assert hand_backs == {"exiting:1:"}
    assert claim_next(services.sessions, worker_id="exiting:1:thread", now=T0, skip=set()) is None
    # Everyone else goes on, the handed-back slot first.
    taken = claim_next(services.sessions, worker_id="exiting:10:thread", now=T0, skip=set())
    assert taken is not None and taken.id == held.id


def test_a_hand_back_does_not_wait_long_for_a_claim_under_way_which_then_gives_its_row_back(
    make_services: Callable[..., Services], monkeypatch: pytest.MonkeyPatch, hand_backs: set[str]
) -> None:
    services = make_services()
    waiting_order(services, requester=ALICE, started=T0)
    monkeypatch.setattr(reminder_claims, "HAND_BACK_WAIT", 0.2)
    claiming = reminder_claims._claim_next

    def slow_claim(*args: Any, **kwargs: Any) -> reminder_claims.Claim | None:
        # Stuck on the database: the exiting process hands back without waiting for it...
        handing_back = threading.Thread(
            target=lambda: reminder_claims.release_owned(services.sessions, owner="stuck:1:")
        )
        handing_back.start()
        handing_back.join(timeout=5)
        assert not handing_back.is_alive(), "the hand-back waited for the stuck claim"
        return claiming(*args, **kwargs)  # ...and the claim commits after it

    monkeypatch.setattr(reminder_claims, "_claim_next", slow_claim)
    assert claim_next(services.sessions, worker_id="stuck:1:thread", now=T0, skip=set()) is None
    monkeypatch.setattr(reminder_claims, "_claim_next", claiming)
    # The row went back at once: another process takes it without waiting out a lease.
    assert claim_next(services.sessions, worker_id="other:2:thread", now=T0, skip=set())


def test_escalation_tells_admins_and_the_channel_once(
    emulator: Emulator, make_services: Callable[..., Services]
) -> None:
    emulator.add_channel("CTEAM")
    services = make_services(CERTDESK_ESCALATE_AFTER="2h", CERTDESK_NOTIFY_CHANNEL="CTEAM")
    waiting_order(services, requester=ALICE, started=T0)
    send_due(services, worker_id="w", now=T0)
    assert not reminders_to(emulator, ADMIN)
    send_due(services, worker_id="w", now=T0 + timedelta(hours=2))
    send_due(services, worker_id="w", now=T0 + timedelta(hours=3))
    (admin,) = reminders_to(emulator, ADMIN)
    assert "nobody has verified" in admin.text and f"<@{ALICE}>" in admin.text
    channel = [m for m in emulator.messages("CTEAM") if m.metadata]
    assert len(channel) == 1 and "2 hours" in channel[0].text
    assert ids.CHECK_NOW not in str(channel[0].blocks)


def test_expiry_reminders_offer_renew_to_the_owner(
    emulator: Emulator, make_services: Callable[..., Services]
) -> None:
    services = make_services()
    order_id = waiting_order(services, requester=ALICE, watchers=(BOB,), started=T0)
    not_after = T0 + timedelta(days=40)
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        order.state, order.not_after = workflow.State.ISSUED, not_after
        stop_reminders(session, order_id, kind="verification")
        schedule_expiry(session, order, now=T0)
    due = sorted({r.due_at for r in rows(services, order_id, "expiry")})
    assert due == [not_after - timedelta(days=d) for d in (30, 14, 7, 1)]
    assert send_due(services, worker_id="w", now=not_after - timedelta(days=30)) == 2
    (alice,) = reminders_to(emulator, ALICE)
    assert "in 30 days" in alice.text and ids.RENEW in str(alice.blocks)
    assert ids.RENEW not in str(reminders_to(emulator, BOB)[0].blocks)


def test_watchers_join_and_leave_reminders_under_way(
    emulator: Emulator, make_services: Callable[..., Services]
) -> None:
    from bot.orders.watchers import set_watchers

    services = make_services()
    order_id = waiting_order(services, requester=ALICE, watchers=(), started=T0)
    assert send_due(services, worker_id="w", now=T0) == 1

    def pending(user: str) -> list[Reminder]:
        return [
            r
            for r in rows(services, order_id)
            if r.recipient_id == user and r.sent_at is None and r.cancelled_at is None
        ]

    assert pending(BOB) == []
    set_watchers(services, order_id, user_id=ALICE, wanted=[BOB])
    assert [r.step for r in pending(BOB)] == [0]  # Bob is reminded from now on
    set_watchers(services, order_id, user_id=ALICE, wanted=[])
    assert pending(BOB) == []  # and no more once removed
    assert pending(ALICE), "the owner's reminders go on"
