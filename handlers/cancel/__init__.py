"""Cancelling an order: the button and `/cert cancel ID` ask first; confirming cancels it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.orders.cancel import cancel_and_tell, check_cancellable
from bot.services import Services
from bot.views import ids
from bot.views.cancel import cancel_modal
from bot.views.complete import order_id_from
from handlers.complete import notice_view
from handlers.opening import OrderCommands, open_order_modal
from handlers.replies import dm, guarded


def register(app: App, services: Services) -> OrderCommands:
    """Listen for the Cancel button, command and confirmation."""

    commands = open_order_modal(
        app,
        services,
        build=lambda order_id, user_id: cancel_modal(
            check_cancellable(services, order_id, user_id=user_id)
        ),
        action_ids=(ids.CANCEL_ORDER,),
        commands=("cancel",),
    )

    def cancel_after_ack(order_id: int, user_id: str) -> None:
        guarded(
            lambda text: dm(services, user_id, text),
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

    return commands
