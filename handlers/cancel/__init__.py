"""Cancelling an order: the button and `/cert cancel ID` ask first; confirming cancels it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.orders.cancel import cancel_and_tell, check_cancellable
from bot.services import Services
from bot.views import ids
from bot.views.cancel import cancel_modal
from bot.views.complete import order_id_from
from handlers.commands import ORDER_SUBCOMMANDS
from handlers.complete import notice_view
from handlers.replies import guarded


def register(app: App, services: Services) -> None:
    """Listen for the Cancel button, command and confirmation."""

    def open_modal(client: WebClient, trigger_id: str, order_id: int, user_id: str) -> None:
        order = check_cancellable(services, order_id, user_id=user_id)
        client.views_open(trigger_id=trigger_id, view=cancel_modal(order))

    def from_command(
        *, ack: Ack, client: WebClient, command: dict[str, Any], order_id: int
    ) -> None:
        open_modal(client, command["trigger_id"], order_id, command["user_id"])
        ack()

    ORDER_SUBCOMMANDS["cancel"] = from_command

    @app.action(ids.CANCEL_ORDER)
    def from_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user_id = body["user"]["id"]

        def tell(text: str) -> None:
            services.background.submit(services.notifier.dm, user_id, text=text)

        guarded(tell, lambda: open_modal(client, body["trigger_id"], int(action["value"]), user_id))

    def cancel_after_ack(order_id: int, user_id: str) -> None:
        guarded(
            lambda text: services.notifier.dm(user_id, text=text),
            lambda: cancel_and_tell(services, order_id, user_id=user_id),
        )

    @app.view(ids.CONFIRM_CANCEL)
    def confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]

        def tell(text: str) -> None:
            ack(response_action="update", view=notice_view("Not cancelled", text))

        def run() -> None:
            order_id = order_id_from(view)
            # Checked again here: the confirmation may be replayed, or the order moved on.
            check_cancellable(services, order_id, user_id=user_id)
            ack(response_action="clear")
            services.background.submit(cancel_after_ack, order_id, user_id)

        guarded(tell, run)
