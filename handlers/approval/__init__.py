"""Approval before the CA: Approve and Reject on the approvers' DMs, the reason modals."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block

from bot.approvals import Role
from bot.errors import FieldErrors
from bot.orders import approval
from bot.services import Services
from bot.views import ids
from bot.views.approvals import reason_modal, waiting_list
from handlers.replies import (
    SLOW_FORM,
    Reply,
    ack_in_time,
    after_ack,
    guarded,
    keep_open,
    later,
    open_modal,
)
from handlers.values import order_and_seen, view_order_id, view_seen, view_values
from handlers.values import user_id as acting_user
from storage.models import format_ref, utcnow


def register(app: App, services: Services) -> None:
    """Listen for the approval buttons and the reason modals."""

    @app.action(ids.APPROVE)
    def approve(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()

        def run(user_id: str) -> None:
            order_id, seen = order_and_seen(action.get("value"))
            role = approval.check_may_decide(services, order_id, user_id=user_id, seen=seen)
            if role is Role.OVERRIDE:  # an admin in the approvers' place: ask why first
                view = reason_modal(
                    ref=format_ref(order_id), order_id=order_id, override=True, seen=seen
                )
                open_modal(client, body.get("trigger_id"), view)
                return
            decision = approval.approve(services, order_id, user_id=user_id, seen=seen)
            approval.after_decision(services, decision)

        later(services, body, run)

    @app.action(ids.REJECT)
    def reject(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()

        def run(user_id: str) -> None:
            order_id, seen = order_and_seen(action.get("value"))
            approval.check_may_decide(services, order_id, user_id=user_id, seen=seen)
            view = reason_modal(
                ref=format_ref(order_id), order_id=order_id, override=False, seen=seen
            )
            open_modal(client, body.get("trigger_id"), view)

        later(services, body, run)

    def reasoned(approved: bool) -> Any:
        def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
            reply = Reply()
            reason = str(view_values(view).get(ids.APPROVAL_REASON) or "")

            def tell(text: str) -> None:
                reply(response_action="errors", errors={ids.APPROVAL_REASON: text[:2000]})

            def run() -> None:
                user_id = acting_user(body)
                order_id = view_order_id(view)
                decide = approval.approve if approved else approval.reject
                try:
                    decision = decide(
                        services, order_id, user_id=user_id, reason=reason, seen=view_seen(view)
                    )
                except FieldErrors as exc:
                    reply(response_action="errors", errors=exc.errors)
                    return
                reply(response_action="clear")
                after_ack(services, user_id, lambda: approval.after_decision(services, decision))

            slow = {ids.APPROVAL_REASON: SLOW_FORM}
            ack_in_time(ack, reply, lambda: guarded(tell, run, plain=True), **keep_open(slow))

        return submitted

    app.view(ids.REJECT_REASON)(reasoned(approved=False))
    app.view(ids.OVERRIDE_REASON)(reasoned(approved=True))


def waiting_answer(services: Services, user_id: str) -> tuple[str, list[Block]]:
    """`/cert approvals`: what waits for ``user_id``'s decision (everything, for admins)."""
    found = approval.waiting_for(services, user_id=user_id)
    items = [
        (format_ref(order_id), order_id, requester, asked) for order_id, requester, asked in found
    ]
    return waiting_list(items, now=utcnow())
