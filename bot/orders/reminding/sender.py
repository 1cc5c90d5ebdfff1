"""Sending due reminders exactly once: claim, re-check, look in Slack after a crash, post, mark.

The window that remains: a worker that stalls for longer than the claim's lease (five
minutes) *between* its last re-check and Slack receiving its post, while another worker
takes the slot over and finds nothing in Slack yet, would double that one reminder.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import metrics, reminders, workflow
from bot.errors import SlackError
from bot.orders.reminding import content, posting
from bot.orders.workspaces import acting_for_order
from bot.services import Services
from storage import queries
from storage import reminder_slots as slots
from storage.models import Order, Reminder, format_ref
from storage.reminder_claims import Claim, claim_next, drop, held, release

logger = logging.getLogger(__name__)

#: What state an order must be in for a slot of each kind to be sent.
_NEEDS = {
    slots.VERIFICATION: workflow.State.AWAITING_VERIFICATION,
    slots.ESCALATION: workflow.State.AWAITING_VERIFICATION,
    slots.APPROVAL: workflow.State.AWAITING_APPROVAL,
    slots.APPROVAL_ESCALATION: workflow.State.AWAITING_APPROVAL,
    slots.EXPIRY: workflow.State.ISSUED,
}
#: Waits before trying a slot again after Slack failed, by attempts so far.
RETRY_BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)


@dataclass
class Sweep:
    """One run of send_due: the worker, its clock, and what it learned from the CA."""

    services: Services
    worker_id: str
    start: datetime
    began: float
    statuses: dict[int, content.CAView]

    def now(self) -> datetime:
        """The injected time plus what has really passed since the sweep began."""
        return self.start + timedelta(seconds=time.monotonic() - self.began)


def send_due(services: Services, *, worker_id: str, now: datetime, limit: int | None = None) -> int:
    """Send every due reminder slot nobody else holds; return how many were delivered."""
    sweep = Sweep(services, worker_id, now, time.monotonic(), {})
    sent, skip = 0, set[int]()
    while limit is None or sent < limit:
        claim = claim_next(
            services.sessions,
            worker_id=worker_id,
            now=sweep.now(),
            skip=skip,
            lease=services.settings.claim_lease,
        )
        if claim is None:
            break
        skip.add(claim.id)
        try:
            with acting_for_order(services, claim.order_id):
                sent += deliver(sweep, claim)
        except Exception:
            logger.exception(
                "reminder %s for order %s failed; it is retried later", claim.id, claim.order_id
            )
            release(
                services.sessions,
                claim,
                due_at=_retry_at(sweep, claim, None),
                failed=True,
                maybe_posted=True,
            )
    return sent


def deliver(sweep: Sweep, claim: Claim) -> int:
    """Send one claimed slot (or defer, drop or fan it out); 1 if a message was delivered."""
    services, now = sweep.services, sweep.now()
    with services.sessions.begin() as session:
        order = queries.get_order(session, claim.order_id)
        reason = _unsendable(session, services, claim, order, now=now)
    if reason is None and order is not None and claim.recipient_id == slots.EVERYONE:
        return _escalate(sweep, claim, order, now=now)
    if reason is not None:
        drop(services.sessions, claim, now=now)
        logger.info("reminder %s for order %s dropped: %s", claim.id, claim.order_id, reason)
        return 0
    assert order is not None
    to_person = not claim.recipient_id.startswith(slots.CHANNEL)
    if to_person and services.settings.working_hours is not None:
        tz = services.notifier.time_zone(claim.recipient_id)
        at = reminders.into_working_hours(
            claim.due_at, tz=tz, hours=services.settings.working_hours
        )
        if at > now:
            release(
                services.sessions, claim, due_at=at, failed=False, maybe_posted=claim.maybe_posted
            )
            return 0
    event = content.reminder_event(services, sweep.statuses, claim, order, now=now)
    return _post(sweep, claim, event)


def _unsendable(
    session: Session, services: Services, claim: Claim, order: Order | None, *, now: datetime
) -> str | None:
    if held(session, claim) is None:
        return "cancelled or taken over"
    if order is None or order.state != _NEEDS.get(claim.kind):
        return "the order moved on"
    if claim.kind == slots.VERIFICATION and now >= _window_end(services, order):
        return "the verification window closed"
    return None


def _window_end(services: Services, order: Order, kind: str = slots.VERIFICATION) -> datetime:
    return started_at(order, kind) + services.settings.verification_window


def started_at(order: Order, kind: str) -> datetime:
    """When the wait a reminder of ``kind`` is about began (verification, or approval)."""
    if kind in (slots.APPROVAL, slots.APPROVAL_ESCALATION):
        return order.submitted_at or order.updated_at
    return order.verification_started_at or order.updated_at


def _escalate(sweep: Sweep, claim: Claim, order: Order, *, now: datetime) -> int:
    """The placeholder: wait until escalate_after has passed, then one slot per admin/channel."""
    settings = sweep.services.settings
    due = started_at(order, claim.kind) + settings.escalate_after
    if due > now:
        release(sweep.services.sessions, claim, due_at=due, failed=False)
        return 0
    with sweep.services.sessions.begin() as session:
        row = held(session, claim)
        if row is None:
            return 0
        count = slots.fan_out_escalation(
            session,
            row,
            admins=sorted(sweep.services.admins(order.team_id)),
            channel=sweep.services.notify_channel(order.team_id),
            now=now,
        )
        row.sent_at, row.claimed_until = now, None
        queries.record(
            session, order_id=claim.order_id, actor="system", action="escalated", recipients=count
        )
    return 0


def _post(sweep: Sweep, claim: Claim, event: object) -> int:
    services = sweep.services
    try:
        channel = posting.channel_for(services, claim.recipient_id)
        found = posting.find_posted(services, channel, claim.id) if claim.maybe_posted else None
        if found is None:
            if not _still_wanted(services, claim):
                drop(services.sessions, claim, now=sweep.now())
                return 0
            message = services.presenter.notice(event).main
            found = posting.post(services, channel, claim.id, message)
    except SlackError as exc:
        if exc.retryable:
            release(
                services.sessions,
                claim,
                due_at=_retry_at(sweep, claim, exc),
                failed=True,
                maybe_posted=exc.maybe_delivered,
            )
            logger.warning("Slack failed reminder %s (%s); trying again later", claim.id, exc)
            return 0
        logger.error("reminder %s cannot be delivered: %s", claim.id, exc.code)
        drop(services.sessions, claim, now=sweep.now())
        return 0
    _mark_sent(sweep, claim, channel=channel, ts=found)
    return 1


def _still_wanted(services: Services, claim: Claim) -> bool:
    """Right before posting: the slot is still ours and the order still needs it."""
    with services.sessions.begin() as session:
        order = session.get(Order, claim.order_id)
        return (
            held(session, claim) is not None
            and order is not None
            and order.state == _NEEDS.get(claim.kind)
        )


def _mark_sent(sweep: Sweep, claim: Claim, *, channel: str, ts: str) -> None:
    services, now = sweep.services, sweep.now()
    stale: str | None = None
    with services.sessions.begin() as session:
        row = session.get(Reminder, claim.id)
        if row is None or row.claimed_by != claim.token or row.sent_at is not None:
            logger.warning("reminder %s was taken over while it was sent (ts %s)", claim.id, ts)
            return
        row.sent_at, row.message_ts, row.claimed_until = now, ts, None
        order = session.get(Order, claim.order_id)
        moved = order is None or order.state != _NEEDS.get(claim.kind)
        if row.cancelled_at is not None or moved:
            stale = workflow.describe(order.state) if order is not None else "gone"
        elif claim.kind in slots.ESCALATES:
            assert order is not None
            slots.chain_next(
                session,
                row,
                started=started_at(order, claim.kind),
                schedule=services.settings.reminder_schedule,
                window_end=_window_end(services, order, claim.kind),
                now=now,
            )
        queries.record(
            session,
            order_id=claim.order_id,
            actor="system",
            action=f"{claim.kind}_reminder_sent",
            to=claim.recipient_id,
            step=claim.step,
        )
    metrics.reminder_sent(claim.kind)
    if stale is not None:  # the order moved on while this was in flight: say so in place
        posting.replace(services, channel, ts, format_ref(claim.order_id), stale)


def _retry_at(sweep: Sweep, claim: Claim, exc: SlackError | None) -> datetime:
    wait = RETRY_BACKOFF[min(claim.attempts, len(RETRY_BACKOFF) - 1)]
    if exc is not None and exc.retry_after:
        wait = max(wait, timedelta(seconds=exc.retry_after))
    return sweep.now() + wait
