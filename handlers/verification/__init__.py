"""The buttons on verification reminders: check now, resend the email, snooze a day."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.orders import verifying as actions
from bot.services import Services
from bot.views import ids
from handlers.replies import dm, guarded

Action = Callable[..., object]


def register(app: App, services: Services) -> None:
    """Listen for the reminder buttons; each acks at once and answers by DM after the work."""

    def listen(action_id: str, work: Action) -> None:
        @app.action(action_id)
        def pressed(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
            ack()
            user_id = body["user"]["id"]
            services.background.submit(run, user_id, str(action.get("value") or ""), work)

    def run(user_id: str, value: str, work: Action) -> None:
        def tell(text: str) -> None:
            dm(services, user_id, text)

        def act() -> None:
            if not value.isdigit():
                tell("That button does not name an order. Use `/cert list` to find yours.")
                return
            tell(services.presenter.notice(work(services, int(value), user_id=user_id)).main.text)

        guarded(tell, act)

    listen(ids.CHECK_NOW, actions.check_now)
    listen(ids.RESEND_VERIFICATION, actions.resend)
    listen(ids.SNOOZE, actions.snooze)
