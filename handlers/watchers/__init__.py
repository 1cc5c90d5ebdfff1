"""Watchers: the button and `/cert watchers ID` open the modal; saving it changes who watches."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import FieldErrors
from bot.orders.watchers import open_watchers, set_watchers, tell_watchers
from bot.services import Services
from bot.views import ids
from bot.views.complete import order_id_from
from bot.views.watchers import watchers_modal
from handlers.commands import ORDER_SUBCOMMANDS
from handlers.replies import guarded
from handlers.values import view_values


def register(app: App, services: Services) -> None:
    """Listen for the Watchers button, command and modal."""

    def open_modal(client: WebClient, trigger_id: str, order_id: int, user_id: str) -> None:
        order = open_watchers(services, order_id, user_id=user_id)
        client.views_open(trigger_id=trigger_id, view=watchers_modal(order))

    def from_command(
        *, ack: Ack, client: WebClient, command: dict[str, Any], order_id: int
    ) -> None:
        open_modal(client, command["trigger_id"], order_id, command["user_id"])
        ack()

    ORDER_SUBCOMMANDS["watchers"] = from_command
    ORDER_SUBCOMMANDS["watch"] = from_command

    @app.action(ids.OPEN_WATCHERS)
    def from_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user_id = body["user"]["id"]

        def tell(text: str) -> None:
            services.background.submit(services.notifier.dm, user_id, text=text)

        guarded(tell, lambda: open_modal(client, body["trigger_id"], int(action["value"]), user_id))

    @app.view(ids.ADD_WATCHER)
    def saved(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        wanted = view_values(view).get(ids.WATCHER_USERS) or []

        def tell(text: str) -> None:
            ack(response_action="errors", errors={ids.WATCHER_USERS: text[:2000]})

        def run() -> None:
            try:
                change = set_watchers(services, order_id_from(view), user_id=user_id, wanted=wanted)
            except FieldErrors as exc:
                ack(response_action="errors", errors=exc.errors)
                return
            ack()
            services.background.submit(tell_watchers, services, change)

        guarded(tell, run)
