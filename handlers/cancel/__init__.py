"""Cancelling an order: the button and `/cert cancel ID` ask first; confirming cancels it."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.orders.cancel import cancel_and_tell, check_cancellable
from bot.services import Services
from bot.views import ids
from bot.views.cancel import cancel_modal
from bot.views.common import notice_modal
from handlers.opening import OrderCommands, open_order_modal
from handlers.replies import SLOW, Reply, ack_in_time, after_ack, guarded
from handlers.values import user_id as acting_user
from handlers.values import view_order_id


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

    @app.view(ids.CONFIRM_CANCEL)
    def confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reply = Reply()

        def tell(text: str) -> None:
            reply(response_action="update", view=notice_modal("Not cancelled", text))

        def run() -> None:
            user_id, order_id = acting_user(body), view_order_id(view)
            # Checked again here: the confirmation may be replayed, or the order moved on.
            check_cancellable(services, order_id, user_id=user_id)
            reply(response_action="clear")
            after_ack(
                services, user_id, lambda: cancel_and_tell(services, order_id, user_id=user_id)
            )

        late = notice_modal("Not cancelled", SLOW)
        ack_in_time(ack, reply, lambda: guarded(tell, run), response_action="update", view=late)

    return commands
