"""Asking the CA where in-flight orders stand, and applying what it says."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import events, workflow
from bot.ca.base import CAState, CAStatus
from bot.errors import CAError
from bot.orders import transitions
from bot.orders.announcements import announce
from bot.orders.backoff import back_off, write_locked
from bot.orders.failure import fail_order
from bot.orders.issuance import issue_order
from bot.orders.submission import send_to_ca
from bot.orders.telling import owe_channel, owe_people
from bot.orders.workspaces import acting_for_order
from bot.services import Services
from storage import queries
from storage.claims import claim_due
from storage.models import Order, format_ref, utcnow
from storage.workspaces import paused_orders

logger = logging.getLogger(__name__)

#: How many orders one sweep claims at a time.
BATCH = 50
#: A submitted order with no CA reference is being sent by the request that submitted it;
#: the poller only takes over (a crash after the ack) once this long has passed.
SUBMIT_GRACE = timedelta(minutes=2)


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
        send_to_ca(services, order_id, now=now, claimed=claimed)
        return
    try:
        status = services.ca.status(ca_ref)
    except CAError as exc:
        if exc.retryable:
            back_off(services, order_id, problem=str(exc), now=now)
            return
        fail_order(services, order_id, reason=str(exc), actor="ca", ca_ref=ca_ref)
        return
    apply_status(services, order_id, status, ca_ref=ca_ref, now=now)


def apply_status(
    services: Services, order_id: int, status: CAStatus, *, ca_ref: str, now: datetime
) -> None:
    """Move the order as the CA's ``status`` says; then tell whoever needs to know."""
    if status.state is CAState.ISSUED:
        try:
            issue_order(services, order_id, ca_ref=ca_ref, now=now)
        except CAError as exc:
            if not exc.retryable:
                raise
            back_off(services, order_id, problem=str(exc), now=now)
        return
    if status.state is CAState.FAILED:
        reason = status.reason or "The CA turned the order down without giving a reason."
        fail_order(services, order_id, reason=reason, actor="ca", ca_ref=ca_ref)
        return
    interval = services.settings.poll_interval
    after = write_locked(
        services,
        order_id,
        lambda s, o: _move(services, s, o, status, ca_ref=ca_ref, now=now, interval=interval),
    )
    if after is None:
        return
    before, state = after
    if state != before:
        announce(services, order_id)


def poll_due(services: Services, *, now: datetime) -> int:
    """Poll every in-flight order whose next poll is due; return how many were polled.

    Each batch is claimed first (its next poll moved a lease ahead), so two workers never
    poll one order at once.
    """
    lease = max(
        services.settings.poll_interval, min(timedelta(minutes=1), services.settings.claim_lease)
    )
    polled = 0
    while True:
        claimed = claim_due(
            services.sessions,
            Order,
            Order.next_poll_at,
            now=now,
            # A workspace that uninstalled certdesk is not polled until it installs again.
            where=[Order.state.in_(list(workflow.IN_FLIGHT)), Order.id.not_in(paused_orders())],
            lease=lease,
            limit=BATCH,
            skip=lambda order: _being_submitted(order, now=now),
        )
        for order_id in claimed:
            try:
                with acting_for_order(services, order_id):
                    poll_order(services, order_id, now=now, claimed=True)
            except Exception:
                logger.exception("polling order %s failed; it is polled again later", order_id)
            polled += 1
        if len(claimed) < BATCH:
            return polled


def _being_submitted(order: Order, *, now: datetime) -> bool:
    """Whether the submit request's own post-ack work is (probably) still sending the order."""
    if order.ca_ref or order.state != workflow.State.SUBMITTED or order.poll_failures:
        return False
    return order.submitted_at is not None and now - order.submitted_at < SUBMIT_GRACE


def _move(
    services: Services,
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
    transitions.apply(
        session,
        order,
        event,
        actor="ca",
        now=now,
        ca_state=status.state.value,
        validations=[_validation_words(v) for v in status.validations],
    )
    _owe(services, session, order, status, now=now)
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


def _owe(
    services: Services, session: Session, order: Order, status: CAStatus, *, now: datetime
) -> None:
    """In the moving transaction: state changes go to the team channel (the requester's DMs
    come from the reminders); a cancellation at the CA to everyone."""
    state, ref = order.state, format_ref(order.id)
    if state == workflow.State.AWAITING_VERIFICATION:
        boxes = sorted({v.mailbox for v in status.validations if v.mailbox})
        owe_channel(
            session, services, order, events.PassedReview(ref=ref, mailboxes=boxes), now=now
        )
    elif state == workflow.State.CANCELLED:
        owe_people(session, services, order, events.CancelledAtCA(ref=ref), now=now)
    else:
        owe_channel(session, services, order, events.StateReached(ref=ref, state=state), now=now)
