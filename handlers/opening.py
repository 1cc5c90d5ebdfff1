"""Opening a modal about one order, from `/cert <word> ID` and from buttons alike."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot.services import Services
from handlers.replies import Reply, later, open_modal
from handlers.values import order_id

#: Builds the modal for (order id, acting user); raises bot.errors.Error to refuse.
ModalBuilder = Callable[[int, str], View]
#: Runs `/cert <word> ID` for one order: (reply, client, command, order id).
OrderCommand = Callable[..., None]
#: What a surface handles of `/cert`: word -> handler.
OrderCommands = dict[str, OrderCommand]


def open_order_modal(
    app: App,
    services: Services,
    *,
    build: ModalBuilder,
    action_ids: Sequence[str] = (),
    commands: Sequence[str] = (),
) -> OrderCommands:
    """Register buttons (value = order id) that open ``build``'s modal; return the `/cert`
    words that open it too, for the command surface to route.

    A button is acked at once and the modal built and opened after it, within the trigger's
    life (~3 s); a refusal from ``build`` reaches the person as the command's ephemeral
    answer, or as a DM for a button.
    """

    def from_command(
        *, reply: Reply, client: WebClient, command: dict[str, Any], order_id: int
    ) -> None:
        view = build(order_id, str(command.get("user_id") or ""))
        open_modal(client, command.get("trigger_id"), view)
        reply()

    def from_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        later(services, body, lambda user_id: build_and_open(body, action, client, user_id))

    def build_and_open(
        body: dict[str, Any], action: dict[str, Any], client: WebClient, user_id: str
    ) -> None:
        # Built after the ack, within the trigger's ~3 s: the database may be slow or down.
        view = build(order_id(action.get("value")), user_id)
        open_modal(client, body.get("trigger_id"), view)

    for action_id in action_ids:
        app.action(action_id)(from_button)
    return dict.fromkeys(commands, from_command)
