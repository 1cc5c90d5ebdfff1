"""Revoking an issued certificate: the button and `/cert revoke ID` ask why; confirming revokes."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.orders.revocation import REASONS, check_revocable, reason_code, revoke_and_tell
from bot.services import Services
from bot.views import ids
from bot.views.complete import order_id_from
from bot.views.revocation import revoke_modal
from handlers.commands import ORDER_SUBCOMMANDS
from handlers.complete import notice_view
from handlers.replies import guarded
from handlers.values import view_values

#: The reasons as the modal offers them.
CHOICES = {code: words for code, (_name, words) in REASONS.items()}


def register(app: App, services: Services) -> None:
    """Listen for the Revoke button, command and confirmation."""

    def open_modal(client: WebClient, trigger_id: str, order_id: int, user_id: str) -> None:
        order = check_revocable(services, order_id, user_id=user_id)
        client.views_open(trigger_id=trigger_id, view=revoke_modal(order, reasons=CHOICES))

    def from_command(
        *, ack: Ack, client: WebClient, command: dict[str, Any], order_id: int
    ) -> None:
        open_modal(client, command["trigger_id"], order_id, command["user_id"])
        ack()

    ORDER_SUBCOMMANDS["revoke"] = from_command

    @app.action(ids.REVOKE)
    def from_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user_id = body["user"]["id"]

        def tell(text: str) -> None:
            services.background.submit(services.notifier.dm, user_id, text=text)

        guarded(tell, lambda: open_modal(client, body["trigger_id"], int(action["value"]), user_id))

    def revoke_after_ack(order_id: int, user_id: str, reason: int) -> None:
        # The CA call is slow and may fail: its answer reaches the person as a DM.
        guarded(
            lambda text: services.notifier.dm(user_id, text=text),
            lambda: revoke_and_tell(services, order_id, user_id=user_id, reason=reason),
        )

    @app.view(ids.CONFIRM_REVOKE)
    def confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]

        def tell(text: str) -> None:
            ack(response_action="update", view=notice_view("Not revoked", text))

        def run() -> None:
            order_id = order_id_from(view)
            # Checked again here (first): the confirmation may be replayed, or the order moved on.
            check_revocable(services, order_id, user_id=user_id)
            reason = reason_code(str(view_values(view).get(ids.REVOKE_REASON)))
            ack(response_action="clear")
            services.background.submit(revoke_after_ack, order_id, user_id, reason)

        guarded(tell, run)
