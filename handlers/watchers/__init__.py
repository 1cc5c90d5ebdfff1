"""Watchers: the button and `/cert watchers ID` open the modal; saving it changes who watches."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.errors import FieldErrors
from bot.orders.watchers import open_watchers, set_watchers, tell_watchers
from bot.services import Services
from bot.views import ids
from bot.views.watchers import watchers_modal
from handlers.opening import OrderCommands, open_order_modal
from handlers.replies import SLOW_FORM, Reply, ack_in_time, guarded, keep_open
from handlers.values import user_id as acting_user
from handlers.values import view_order_id, view_values


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
        reply = Reply()
        chosen = view_values(view).get(ids.WATCHER_USERS)
        wanted = [u for u in chosen if isinstance(u, str)] if isinstance(chosen, list) else []

        def tell(text: str) -> None:
            reply(**keep_open({ids.WATCHER_USERS: text[:2000]}))

        def run() -> None:
            user_id, order_id = acting_user(body), view_order_id(view)
            try:
                change = set_watchers(services, order_id, user_id=user_id, wanted=wanted)
            except FieldErrors as exc:
                reply(**keep_open(exc.errors))
                return
            reply()
            services.background.submit(tell_watchers, services, change)

        late = keep_open({ids.WATCHER_USERS: SLOW_FORM})
        ack_in_time(ack, reply, lambda: guarded(tell, run, plain=True), **late)

    return commands
