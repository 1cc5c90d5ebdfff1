"""The buttons on verification reminders: check now, resend the email, snooze a day."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App

from bot.orders import verifying as actions
from bot.services import Services
from bot.views import ids
from handlers.replies import dm, later
from handlers.values import order_id as button_order

Action = Callable[..., object]


def register(app: App, services: Services) -> None:
    """Listen for the reminder buttons; each acks at once and answers by DM after the work."""

    def listen(action_id: str, work: Action) -> None:
        @app.action(action_id)
        def pressed(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
            ack()
            later(services, body, lambda user_id: run(user_id, action.get("value"), work))

    def run(user_id: str, value: object, work: Action) -> None:
        event = work(services, button_order(value), user_id=user_id)
        dm(services, user_id, services.presenter.notice(event).main.text)

    listen(ids.CHECK_NOW, actions.check_now)
    listen(ids.RESEND_VERIFICATION, actions.resend)
    listen(ids.SNOOZE, actions.snooze)
