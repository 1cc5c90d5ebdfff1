"""The new-order modal's submission: register the purchase, DM the requester its ID."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.errors import FieldErrors
from bot.orders.register import register_order
from bot.products import parse_purchase
from bot.services import Services
from bot.views import ids, orders
from handlers.replies import dm, guarded
from handlers.values import view_values


def register(app: App, services: Services) -> None:
    """Listen for the new-order modal."""

    @app.view(ids.NEW_ORDER)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id, team_id = body["user"]["id"], body["team"]["id"]
        values = view_values(view)
        try:
            purchase = parse_purchase(
                product=values.get(ids.PRODUCT),
                domain_type=values.get(ids.DOMAIN_TYPE),
                domain_count=values.get(ids.DOMAIN_COUNT),
                validity=values.get(ids.VALIDITY),
            )
        except FieldErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return

        def run() -> None:
            order = register_order(services, team_id=team_id, user_id=user_id, purchase=purchase)
            ack()
            text, blocks = orders.registered_message(order)
            services.background.submit(dm, services, user_id, text, blocks)

        def tell(message: str) -> None:
            ack(response_action="errors", errors={ids.PRODUCT: message[:150]})

        guarded(tell, run, plain=True)
