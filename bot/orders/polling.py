"""Asking the CA where in-flight orders stand, and applying what it says."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot import workflow
from bot.ca.base import CAState, CAStatus
from bot.errors import CAError
from bot.orders.reminding import start_verification, stop_reminders
from bot.services import Services
from storage import queries
from storage.models import Order, utcnow

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: The longest a CA outage stretches the time between polls of one order.
MAX_BACKOFF = timedelta(hours=1)
#: How many orders one sweep claims at a time.
BATCH = 50
#: A submitted order with no CA reference is being sent by the request that submitted it;
#: the poller only takes over (a crash after the ack) once this long has passed.
SUBMIT_GRACE = timedelta(minutes=2)
#: Attempts at applying one CA answer when another writer changed the order meanwhile.
_WRITE_ATTEMPTS = 3


def poll_order(
    services: Services, order_id: int, *, now: datetime | None = None, claimed: bool = False
) -> None:
    """Ask the CA once where the order stands and apply the answer.

    ``claimed``: the caller (the poll sweep) already holds the order's lease.

    Idempotent and safe to run twice at once (a button and a job): each change is applied
    in a transaction that re-reads the order and only moves it from the state it was in.
    """
    now = now or utcnow()
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        if order is None or order.state not in workflow.IN_FLIGHT:
            return
        ca_ref = order.ca_ref
    if not ca_ref:
        from bot.orders.submission import send_to_ca

        send_to_ca(services, order_id, now=now, claimed=claimed)
        return
    try:
        status = services.ca.status(ca_ref)
    except CAError as exc:
        if exc.retryable:
            back_off(services, order_id, problem=str(exc), now=now)
            return
        from bot.orders.outcomes import fail_order

        fail_order(services, order_id, reason=str(exc), actor="ca", ca_ref=ca_ref)
        return
    apply_status(services, order_id, status, ca_ref=ca_ref, now=now)


def apply_status(
    services: Services, order_id: int, status: CAStatus, *, ca_ref: str, now: datetime
) -> None:
    """Move the order as the CA's ``status`` says; then tell whoever needs to know."""
    if status.state is CAState.ISSUED:
        from bot.orders.issuance import issue_order

        try:
            issue_order(services, order_id, ca_ref=ca_ref, now=now)
        except CAError as exc:
            if not exc.retryable:
                raise
            back_off(services, order_id, problem=str(exc), now=now)
        return
    if status.state is CAState.FAILED:
        from bot.orders.outcomes import fail_order

        reason = status.reason or "The CA turned the order down without giving a reason."
        fail_order(services, order_id, reason=reason, actor="ca", ca_ref=ca_ref)
        return
    interval = services.settings.poll_interval
    after = _write(
        services,
        order_id,
        lambda s, o: _move(s, o, status, ca_ref=ca_ref, now=now, interval=interval),
    )
    if after is None:
        return
    before, state = after
    if state == before:
        return
    _announce(services, order_id, state=state, status=status)


def back_off(services: Services, order_id: int, *, problem: str, now: datetime) -> timedelta:
    """Poll again later after a CA outage: the interval doubles with each failure, capped."""
    interval = services.settings.poll_interval
    cap = max(MAX_BACKOFF, interval)

    def change(session: Session, order: Order) -> timedelta:
        failures = order.poll_failures or 0
        delay = min(interval * (2 ** min(failures, 20)), cap)
        order.poll_failures = failures + 1
        order.next_poll_at = now + delay
        if failures == 0:  # the first failure of a run is news; the rest would flood the trail
            queries.record(
                session,
                order_id=order_id,
                actor="system",
                action="ca_unreachable",
                problem=problem[:500],
                retry_in_seconds=int(delay.total_seconds()),
            )
        return delay

    delay = _write(services, order_id, change)
    logger.warning("CA unreachable for order %s; polling again in %s", order_id, delay)
    return delay or interval


def poll_due(services: Services, *, now: datetime) -> int:
    """Poll every in-flight order whose next poll is due; return how many were polled.

    Each batch is claimed first (its next poll moved a lease ahead) in a short transaction,
    with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never poll one order at once.
    """
    polled = 0
    while True:
        claimed = _claim(services, now=now)
        for order_id in claimed:
            try:
                poll_order(services, order_id, now=now, claimed=True)
            except Exception:
                logger.exception("polling order %s failed; it is polled again later", order_id)
            polled += 1
        if len(claimed) < BATCH:
            return polled


def _claim(services: Services, *, now: datetime) -> list[int]:
    lease = max(
        services.settings.poll_interval, min(timedelta(minutes=1), services.settings.claim_lease)
    )
    for _ in range(_WRITE_ATTEMPTS):
        try:
            with services.sessions.begin() as session:
                stmt = (
                    select(Order)
                    .where(Order.state.in_(list(workflow.IN_FLIGHT)))
                    .where(Order.next_poll_at.is_not(None), Order.next_poll_at <= now)
                    .order_by(Order.next_poll_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
                claimed = []
                for order in session.scalars(stmt):
                    if _being_submitted(order, now=now):
                        continue
                    order.next_poll_at = now + lease
                    claimed.append(order.id)
                return claimed
        except StaleDataError:
            continue  # SQLite: another worker claimed some of these rows first; look again
    return []


def _being_submitted(order: Order, *, now: datetime) -> bool:
    """Whether the submit request's own post-ack work is (probably) still sending the order."""
    if order.ca_ref or order.state != workflow.State.SUBMITTED or order.poll_failures:
        return False
    return order.submitted_at is not None and now - order.submitted_at < SUBMIT_GRACE


def _move(
    session: Session,
    order: Order,
    status: CAStatus,
    *,
    ca_ref: str,
    now: datetime,
    interval: timedelta,
) -> tuple[str, str] | None:
    """Apply a REVIEWING / AWAITING_VERIFICATION / CANCELLED answer to a locked order."""
    if order.ca_ref != ca_ref or order.state not in workflow.IN_FLIGHT:
        return None  # resubmitted, or moved on by someone else since we asked
    before = order.state
    event = _event_for(workflow.State(before), status.state)
    recovered = bool(order.poll_failures)
    order.poll_failures = 0
    order.next_poll_at = now + interval
    if recovered:
        queries.record(session, order_id=order.id, actor="system", action="ca_reachable_again")
    if event is None:
        return before, before
    order.state = workflow.next_state(before, event)
    if order.state == workflow.State.AWAITING_VERIFICATION:
        order.verification_started_at = now
        start_verification(session, order, now=now)
    if before == workflow.State.AWAITING_VERIFICATION:
        stop_reminders(session, order.id, kind="verification")
    if order.state in workflow.FINAL:
        order.next_poll_at = None
    queries.record(
        session,
        order_id=order.id,
        actor="ca",
        action=event.value,
        ca_state=status.state.value,
        validations=[_validation_words(v) for v in status.validations],
    )
    return before, order.state


def _event_for(state: workflow.State, ca: CAState) -> workflow.Event | None:
    if ca is CAState.AWAITING_VERIFICATION and state is workflow.State.SUBMITTED:
        return workflow.Event.VERIFICATION_REQUESTED
    if ca is CAState.REVIEWING and state is workflow.State.AWAITING_VERIFICATION:
        return workflow.Event.VERIFIED  # validated; the CA is finishing its review
    if ca is CAState.CANCELLED:
        return workflow.Event.CANCEL
    return None


def _validation_words(validation: object) -> dict[str, object]:
    fields = ("domain", "method", "mailbox", "record_name", "record_type", "url", "done")
    return {f: getattr(validation, f) for f in fields if getattr(validation, f, None) is not None}


def _write(
    services: Services, order_id: int, change: Callable[[Session, Order], T | None]
) -> T | None:
    """Run ``change`` on the locked order and commit; on a concurrent write, re-read and retry."""
    for _ in range(_WRITE_ATTEMPTS):
        try:
            with services.sessions.begin() as session:
                order = queries.get_order(session, order_id, for_update=True)
                if order is None:
                    return None
                return change(session, order)
        except StaleDataError:
            logger.info("order %s changed while applying a poll; reading it again", order_id)
    return None


def _announce(services: Services, order_id: int, *, state: str, status: CAStatus) -> None:
    """State changes go to the team channel; the requester's DMs come from the reminders."""
    channel = services.settings.notify_channel
    from storage.models import format_ref

    ref = format_ref(order_id)
    if state == workflow.State.AWAITING_VERIFICATION:
        boxes = sorted({v.mailbox for v in status.validations if v.mailbox})
        where = f" (the CA emailed {', '.join(boxes)})" if boxes else ""
        text = f"{ref} passed review and is waiting for domain verification{where}."
    elif state == workflow.State.CANCELLED:
        from bot.orders.notices import tell_people

        tell_people(
            services,
            order_id,
            text=f"{ref} was cancelled at the CA; nothing more will happen to it.",
            channel_text=f"{ref} was cancelled at the CA.",
        )
        return
    else:
        text = f"{ref} is {workflow.describe(state)}."
    if channel:
        services.notifier.post(channel, text=text)
