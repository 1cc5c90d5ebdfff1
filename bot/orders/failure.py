"""An order the CA turned down (or certdesk could not send): failed, with the reason, told."""

from __future__ import annotations

from bot import events, workflow
from bot.orders import transitions
from bot.orders.announcements import announce
from bot.orders.telling import owe_people
from bot.services import Services
from storage import queries
from storage.models import utcnow


def fail_order(
    services: Services, order_id: int, *, reason: str, actor: str, ca_ref: str | None = None
) -> None:
    """Move the order to `failed` with ``reason`` and tell the requester how to go on.

    Checked under the row lock: an order no longer at the CA (cancelled, already failed) or,
    given ``ca_ref``, one resubmitted since that answer was fetched is left alone.
    """
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id, for_update=True)
        if order is None or order.state not in workflow.IN_FLIGHT:
            return
        if ca_ref is not None and order.ca_ref != ca_ref:
            return  # a stale answer about an earlier submission
        order.failure_reason = reason
        now = utcnow()
        transitions.apply(
            session,
            order,
            workflow.Event.FAIL,
            actor=actor,
            now=now,
            action="failed",
            reason=reason,
        )
        event = events.Failed(ref=order.ref, order_id=order_id, reason=reason)
        owe_people(session, services, order, event, now=now)  # why, and how to go on
    announce(services, order_id)
