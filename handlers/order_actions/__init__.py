"""Buttons on order messages that show or change one order."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.access import Need
from bot.orders import lookup, renewal
from bot.services import Services
from bot.views import ids, orders
from handlers.replies import dm, later
from handlers.values import order_id as button_order
from storage.models import format_ref


def register(app: App, services: Services) -> None:
    """Listen for the order buttons."""

    @app.action(ids.SHOW_STATUS)
    def show_status(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()

        def run(user_id: str) -> None:
            order_id = button_order(action.get("value"))
            order = lookup.order_for(services, order_id, user_id=user_id, need=Need.VIEW)
            can_act = services.may_act(order, user_id)
            text, blocks = orders.order_status(order, can_act=can_act, viewer=user_id)
            dm(services, user_id, text, blocks)

        later(services, body, run)

    @app.action(ids.RENEW)
    def renew(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()

        def run(user_id: str) -> None:
            old_id = button_order(action.get("value"))
            new = renewal.renew_order(services, old_id, user_id=user_id)
            text, blocks = orders.renewal_message(new, old_ref=format_ref(old_id))
            for person in dict.fromkeys([new.requester_id, user_id]):
                services.background.submit(dm, services, person, text, blocks)

        later(services, body, run)
