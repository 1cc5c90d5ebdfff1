"""The reminder's buttons: check now, resend the verification email, snooze a day."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import events, workflow
from bot.access import Need
from bot.errors import PreflightError
from bot.orders import lookup
from bot.orders.polling import poll_order
from bot.services import Services
from storage import queries
from storage import reminder_slots as slots
from storage.models import format_ref, utcnow

SNOOZE_FOR = timedelta(days=1)


def _waiting(services: Services, order_id: int, *, user_id: str) -> str:
    """The CA reference of an order the user may act on and that is waiting for verification."""
    with services.sessions.begin() as session:
        order = lookup.load(session, services, order_id, user_id=user_id, need=Need.ACT)
        if order.state != workflow.State.AWAITING_VERIFICATION or not order.ca_ref:
            return ""
        return order.ca_ref


def check_now(services: Services, order_id: int, *, user_id: str) -> events.CheckedNow:
    """Ask the CA at once (polling the order) and say where the order stands now."""
    ref = format_ref(order_id)
    ca_ref = _waiting(services, order_id, user_id=user_id)
    if not ca_ref:
        state = lookup.order_for(services, order_id, user_id=user_id).state
        return events.CheckedNow(ref=ref, state=state, asked=False)
    try:
        services.ca.request_validation(ca_ref)
    except PreflightError as exc:
        # Something is not published yet: say so about this order, and ask the CA nothing.
        raise PreflightError(f"{ref} is not verified yet. {exc}") from None
    poll_order(services, order_id)
    with services.sessions.begin() as session:
        queries.record(session, order_id=order_id, actor=user_id, action="check_now")
    state = lookup.order_for(services, order_id, user_id=user_id).state
    return events.CheckedNow(ref=ref, state=state, asked=True)


def resend(services: Services, order_id: int, *, user_id: str) -> events.VerificationResent:
    """Have the CA send its verification email again (CAError says why it cannot)."""
    ref = format_ref(order_id)
    ca_ref = _waiting(services, order_id, user_id=user_id)
    if not ca_ref:
        state = lookup.order_for(services, order_id, user_id=user_id).state
        return events.VerificationResent(ref=ref, state=state, mailbox=None)
    services.ca.resend_verification(ca_ref)
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        mailbox = order.applicant.email if order and order.applicant else ""
        state = order.state if order else workflow.State.AWAITING_VERIFICATION
        queries.record(session, order_id=order_id, actor=user_id, action="verification_resent")
    return events.VerificationResent(ref=ref, state=state, mailbox=mailbox)


def snooze(
    services: Services, order_id: int, *, user_id: str, now: datetime | None = None
) -> events.Snoozed:
    """Push the pressing person's own pending verification reminders back by a day."""
    now = now or utcnow()
    ref = format_ref(order_id)
    with services.sessions.begin() as session:
        lookup.load(session, services, order_id, user_id=user_id, need=Need.VIEW)
        moved = slots.snooze(session, order_id, user_id=user_id, until=now + SNOOZE_FOR)
        if not moved:
            return events.Snoozed(ref=ref, until=None)
        queries.record(
            session, order_id=order_id, actor=user_id, action="reminders_snoozed", count=len(moved)
        )
        nxt = min(r.due_at for r in moved)
    return events.Snoozed(ref=ref, until=nxt)
