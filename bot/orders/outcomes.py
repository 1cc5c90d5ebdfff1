"""What happens when the CA decides: failure (with the reason) and the notices that follow."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock

from bot import workflow
from bot.orders.notices import tell_people
from bot.services import Services
from bot.views import ids
from bot.views.common import button, section
from storage import queries


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
        order.state = workflow.next_state(order.state, workflow.Event.FAIL)
        order.failure_reason = reason
        order.next_poll_at = None
        from bot.orders.reminding import stop_reminders

        stop_reminders(session, order_id, kind="verification")
        queries.record(session, order_id=order_id, actor=actor, action="failed", reason=reason)
        ref = order.ref
    text = f"{ref} failed: {reason}"
    blocks = [
        section(f":x: *{ref}* did not pass the CA's review.\n*Why:* {reason}"),
        section("Fix what the reason names and submit again — everything you entered is kept."),
        ActionsBlock(
            elements=[
                button("Revise and resubmit", ids.REVISE, str(order_id), style="primary"),
                button("Details", ids.SHOW_STATUS, str(order_id)),
            ]
        ),
    ]
    tell_people(
        services, order_id, text=text, blocks=blocks, channel_text=f"{ref} failed review: {reason}"
    )
