"""The new-order modal's submission: register the purchase, DM the requester its ID."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.errors import FieldErrors
from bot.orders.register import register_order
from bot.products import parse_purchase
from bot.services import Services
from bot.views import ids, orders
from handlers.replies import SLOW_FORM, Reply, ack_in_time, dm, guarded, keep_open
from handlers.values import team_id, text, view_values
from handlers.values import user_id as acting_user


def register(app: App, services: Services) -> None:
    """Listen for the new-order modal."""

    @app.view(ids.NEW_ORDER)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reply = Reply()
        values = {k: text(v) for k, v in view_values(view).items()}

        def run() -> None:
            user_id, team = acting_user(body), team_id(body)
            try:
                purchase = parse_purchase(
                    product=values.get(ids.PRODUCT),
                    domain_type=values.get(ids.DOMAIN_TYPE),
                    domain_count=values.get(ids.DOMAIN_COUNT),
                    validity=values.get(ids.VALIDITY),
                )
            except FieldErrors as exc:
                reply(**keep_open(exc.errors))
                return
            order = register_order(services, team_id=team, user_id=user_id, purchase=purchase)
            reply()
            words, blocks = orders.registered_message(order)
            services.background.submit(dm, services, user_id, words, blocks)

        def tell(message: str) -> None:
            reply(**keep_open({ids.PRODUCT: message[:150]}))

        late = keep_open({ids.PRODUCT: SLOW_FORM})
        ack_in_time(ack, reply, lambda: guarded(tell, run, plain=True), **late)
