"""Revoking an issued certificate: the button and `/cert revoke ID` ask why; confirming revokes."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.orders.revocation import REASONS, check_revocable, reason_code, revoke_and_tell
from bot.services import Services
from bot.views import ids
from bot.views.common import notice_modal
from bot.views.revocation import revoke_modal
from handlers.opening import OrderCommands, open_order_modal
from handlers.replies import SLOW, Reply, ack_in_time, after_ack, guarded
from handlers.values import user_id as acting_user
from handlers.values import view_order_id, view_values

#: The reasons as the modal offers them.
CHOICES = {code: words for code, (_name, words) in REASONS.items()}


def register(app: App, services: Services) -> OrderCommands:
    """Listen for the Revoke button, command and confirmation."""

    commands = open_order_modal(
        app,
        services,
        build=lambda order_id, user_id: revoke_modal(
            check_revocable(services, order_id, user_id=user_id), reasons=CHOICES
        ),
        action_ids=(ids.REVOKE,),
        commands=("revoke",),
    )

    @app.view(ids.CONFIRM_REVOKE)
    def confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reply = Reply()

        def tell(text: str) -> None:
            reply(response_action="update", view=notice_modal("Not revoked", text))

        def run() -> None:
            user_id, order_id = acting_user(body), view_order_id(view)
            # Checked again here (first): the confirmation may be replayed, or the order moved on.
            check_revocable(services, order_id, user_id=user_id)
            reason = reason_code(str(view_values(view).get(ids.REVOKE_REASON)))
            reply(response_action="clear")
            # The CA call is slow and may fail: its answer reaches the person as a DM.
            after_ack(
                services,
                user_id,
                lambda: revoke_and_tell(services, order_id, user_id=user_id, reason=reason),
            )

        late = notice_modal("Not revoked", SLOW)
        ack_in_time(ack, reply, lambda: guarded(tell, run), response_action="update", view=late)

    return commands
