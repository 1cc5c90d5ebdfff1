"""The reminder's buttons: check now, resend the verification email, snooze a day."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import workflow
from bot.access import Need
from bot.errors import PreflightError
from bot.orders import lookup
from bot.orders.reminding import slots
from bot.services import Services
from bot.views.verification import when
from storage import queries
from storage.models import format_ref, utcnow

SNOOZE_FOR = timedelta(days=1)


def _waiting(services: Services, order_id: int, *, user_id: str) -> str:
    """The CA reference of an order the user may act on and that is waiting for verification."""
    with services.sessions.begin() as session:
        order = lookup.load(session, services, order_id, user_id=user_id, need=Need.ACT)
        if order.state != workflow.State.AWAITING_VERIFICATION or not order.ca_ref:
            return ""
        return order.ca_ref


def check_now(services: Services, order_id: int, *, user_id: str) -> str:
    """Ask the CA at once (polling the order) and say where the order stands now."""
    ref = format_ref(order_id)
    ca_ref = _waiting(services, order_id, user_id=user_id)
    if not ca_ref:
        state = lookup.order_for(services, order_id, user_id=user_id).state
        return f"{ref} is {workflow.describe(state)}, so there is nothing to check."
    try:
        services.ca.request_validation(ca_ref)
    except PreflightError as exc:
        # Something is not published yet: say so about this order, and ask the CA nothing.
        raise PreflightError(f"{ref} is not verified yet. {exc}") from None
    from bot.orders.polling import poll_order

    poll_order(services, order_id)
    with services.sessions.begin() as session:
        queries.record(session, order_id=order_id, actor=user_id, action="check_now")
    state = lookup.order_for(services, order_id, user_id=user_id).state
    if state == workflow.State.AWAITING_VERIFICATION:
        return (
            f"I asked the CA: {ref} is still waiting for domain verification. Follow the link in "
            "the CA's email (or publish what the reminder shows), then press check now again."
        )
    return f"I asked the CA: {ref} is now {workflow.describe(state)}."


def resend(services: Services, order_id: int, *, user_id: str) -> str:
    """Have the CA send its verification email again (CAError says why it cannot)."""
    ref = format_ref(order_id)
    ca_ref = _waiting(services, order_id, user_id=user_id)
    if not ca_ref:
        state = lookup.order_for(services, order_id, user_id=user_id).state
        return f"{ref} is {workflow.describe(state)}: there is no verification to resend."
    services.ca.resend_verification(ca_ref)
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        mailbox = order.applicant.email if order and order.applicant else "the applicant mailbox"
        queries.record(session, order_id=order_id, actor=user_id, action="verification_resent")
    return (
        f"The CA sent a fresh verification email for {ref} to {mailbox}. Use the link in the "
        "newest email: the older one no longer works."
    )


def snooze(services: Services, order_id: int, *, user_id: str, now: datetime | None = None) -> str:
    """Push the pressing person's own pending verification reminders back by a day."""
    now = now or utcnow()
    ref = format_ref(order_id)
    with services.sessions.begin() as session:
        lookup.load(session, services, order_id, user_id=user_id, need=Need.VIEW)
        moved = slots.snooze(session, order_id, user_id=user_id, until=now + SNOOZE_FOR)
        if not moved:
            return f"You have no reminders about {ref} waiting to be sent."
        queries.record(
            session, order_id=order_id, actor=user_id, action="reminders_snoozed", count=len(moved)
        )
        nxt = min(r.due_at for r in moved)
    return f"Snoozed: your next reminder about {ref} comes {when(nxt)} at the earliest."
