"""The reminder sender's answers to Slack failures, with the fake notifier: no Slack, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from support.fakes import FakeDesk, FakeNotifier
from support.reminder_worker import waiting_order

from bot.orders.reminding import send_due
from bot.orders.reminding.posting import TAG
from bot.orders.reminding.sender import RETRY_BACKOFF
from bot.ports import Tag
from storage.models import Reminder

ALICE = "UALICE"
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
#: How long one sweep may take in these tests (the sweep's clock runs on from T0).
SLACK = timedelta(seconds=5)


def alices_slot(desk: FakeDesk, order_id: int) -> Reminder:
    """ALICE's first verification slot, as stored now."""
    with desk.services.sessions.begin() as session:
        return session.scalars(
            select(Reminder).where(
                Reminder.order_id == order_id,
                Reminder.recipient_id == ALICE,
                Reminder.kind == "verification",
                Reminder.step == 0,
            )
        ).one()


def tagged(notifier: FakeNotifier, reminder_id: int) -> list[str]:
    """The ts of each message in ALICE's DM carrying the slot's tag."""
    channel = notifier.dm_channel_of(ALICE)
    return [
        p.ts for p in notifier.posted if p.channel == channel and p.tag == Tag(TAG, reminder_id)
    ]


def test_a_reminder_is_posted_tagged_and_marked_sent(fake_desk: FakeDesk) -> None:
    order_id = waiting_order(fake_desk.services, requester=ALICE, started=T0)
    assert send_due(fake_desk.services, worker_id="w", now=T0) == 1
    row = alices_slot(fake_desk, order_id)
    assert tagged(fake_desk.notifier, row.id) == [row.message_ts]
    assert row.sent_at is not None and row.claimed_until is None


@pytest.mark.parametrize("maybe_delivered", [True, False])
def test_a_retryable_failure_releases_the_slot_for_later(
    fake_desk: FakeDesk, maybe_delivered: bool
) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order_id = waiting_order(services, requester=ALICE, started=T0)
    channel = notifier.dm_channel_of(ALICE)
    notifier.fail_next("post", to=channel, retryable=True, maybe_delivered=maybe_delivered)
    assert send_due(services, worker_id="w", now=T0) == 0
    row = alices_slot(fake_desk, order_id)
    assert row.sent_at is None and row.cancelled_at is None and row.attempts == 1
    assert T0 + RETRY_BACKOFF[0] <= row.due_at < T0 + RETRY_BACKOFF[0] + SLACK
    # Only a failure that may have posted makes the next worker look in Slack first.
    assert (row.claimed_by is not None) is maybe_delivered and row.claimed_until is None
    assert send_due(services, worker_id="w", now=T0 + timedelta(seconds=10)) == 0, "not yet"
    assert send_due(services, worker_id="w", now=row.due_at) == 1
    looked = [c for c in notifier.calls if c[0] == "find_tagged"]
    assert bool(looked) is maybe_delivered
    assert len(tagged(notifier, row.id)) == 1


def test_a_post_slack_made_before_failing_is_found_not_doubled(fake_desk: FakeDesk) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order_id = waiting_order(services, requester=ALICE, started=T0)
    channel = notifier.dm_channel_of(ALICE)
    notifier.fail_next("post", to=channel, retryable=True, maybe_delivered=True, delivered=True)
    assert send_due(services, worker_id="w", now=T0) == 0
    row = alices_slot(fake_desk, order_id)
    (posted,) = tagged(notifier, row.id)
    assert send_due(services, worker_id="other", now=row.due_at) == 1
    row = alices_slot(fake_desk, order_id)
    assert tagged(notifier, row.id) == [posted] and row.message_ts == posted


def test_slacks_retry_after_is_waited_out(fake_desk: FakeDesk) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order_id = waiting_order(services, requester=ALICE, started=T0)
    notifier.fail_next("post", code="ratelimited", retryable=True, retry_after=600)
    send_due(services, worker_id="w", now=T0)
    assert alices_slot(fake_desk, order_id).due_at >= T0 + timedelta(seconds=600)


@pytest.mark.parametrize(
    ("method", "code"), [("post", "channel_not_found"), ("dm_channel", "user_not_found")]
)
def test_a_permanent_failure_drops_the_slot(fake_desk: FakeDesk, method: str, code: str) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order_id = waiting_order(services, requester=ALICE, started=T0)
    notifier.fail_next(method, code=code)
    assert send_due(services, worker_id="w", now=T0) == 0
    row = alices_slot(fake_desk, order_id)
    assert row.cancelled_at is not None and row.sent_at is None and row.claimed_until is None
    assert send_due(services, worker_id="w", now=T0 + timedelta(hours=2)) == 0
    assert notifier.dms_to(ALICE) == []


def test_history_that_cannot_be_read_posts_anyway(fake_desk: FakeDesk) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order_id = waiting_order(services, requester=ALICE, started=T0)
    channel = notifier.dm_channel_of(ALICE)
    notifier.fail_next("post", to=channel, retryable=True, maybe_delivered=True)
    send_due(services, worker_id="w", now=T0)
    # The next worker cannot read the DM's history (no im:history): a double beats a loss.
    notifier.fail_next("find_tagged", to=channel, code="missing_scope")
    row = alices_slot(fake_desk, order_id)
    assert send_due(services, worker_id="w", now=row.due_at) == 1
    assert len(tagged(notifier, row.id)) == 1
