"""Watchers: the button and `/cert watchers ID` open the modal; saving it changes who watches."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.errors import FieldErrors
from bot.orders.watchers import open_watchers, set_watchers, tell_watchers
from bot.services import Services
from bot.views import ids
from bot.views.complete import order_id_from
from bot.views.watchers import watchers_modal
from handlers.opening import OrderCommands, open_order_modal
from handlers.replies import guarded
from handlers.values import view_values


def register(app: App, services: Services) -> OrderCommands:
    """Listen for the Watchers button, command and modal."""

    commands = open_order_modal(
        app,
        services,
        build=lambda order_id, user_id: watchers_modal(
            open_watchers(services, order_id, user_id=user_id)
        ),
        action_ids=(ids.OPEN_WATCHERS,),
        commands=("watchers", "watch"),
    )

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

        guarded(tell, run, plain=True)

    return commands
