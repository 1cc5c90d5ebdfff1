"""Registering a purchase: the typed new-order modal, or a pick from the CA account's purchases."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import CAError, FieldErrors
from bot.orders.announcements import announce
from bot.orders.register import available_purchases, register_from_account, register_order
from bot.products import parse_purchase
from bot.services import Services
from bot.views import ids
from bot.views.new_order import (
    loading_modal,
    new_order_modal,
    no_purchases_modal,
    pick_purchase_modal,
    problem_modal,
)
from handlers.replies import (
    SLOW_FORM,
    Reply,
    ack_in_time,
    guarded,
    incident_id,
    keep_open,
    later,
    mrkdwn_words,
    open_modal,
    something_went_wrong,
)
from handlers.values import team_id, text, view_values
from handlers.values import user_id as acting_user

logger = logging.getLogger(__name__)


def open_new_order(services: Services, client: WebClient, *, trigger_id: object) -> None:
    """Open the new-order modal; for a CA that sells purchases, list the account's first.

    The trigger lives ~3 s and the CA may take longer: a "Loading…" modal opens at once and
    is replaced (views.update) once the CA has answered, after the ack.
    """
    if not services.ca.sells_purchases:
        open_modal(client, trigger_id, new_order_modal())
        return
    opened = client.views_open(trigger_id=str(trigger_id or ""), view=loading_modal())
    view_id = opened["view"]["id"]
    services.background.submit(_offer_purchases, services, client, view_id)


def _offer_purchases(services: Services, client: WebClient, view_id: str) -> None:
    ca = services.ca
    title = ca.display_name or ca.name
    try:
        found = available_purchases(services)
    except CAError as exc:
        logger.warning("listing the %s account's purchases failed: %s", ca.name, exc)
        view = problem_modal(mrkdwn_words(exc))
    except Exception:
        incident = incident_id()
        logger.exception("incident %s", incident)
        view = problem_modal(something_went_wrong(incident))
    else:
        view = (
            pick_purchase_modal(found, ca_name=title)
            if found
            else no_purchases_modal(ca_name=title, buy_url=ca.purchase_url)
        )
    client.views_update(view_id=view_id, view=view)


def register(app: App, services: Services) -> None:
    """Listen for the new-order modals."""

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
            # The "registered" DM was owed with the order: sent now, or by the sweep.
            services.background.submit(announce, services, order.id)

        def tell(message: str) -> None:
            reply(**keep_open({ids.PRODUCT: message[:150]}))

        late = keep_open({ids.PRODUCT: SLOW_FORM})
        ack_in_time(ack, reply, lambda: guarded(tell, run, plain=True), **late)

    @app.view(ids.PICK_PURCHASE)
    def picked(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ref = text(view_values(view).get(ids.PURCHASE_REF))
        if not ref:
            ack(response_action="errors", errors={ids.PURCHASE_REF: "Choose a purchase."})
            return
        ack()  # the CA is asked again (what was bought, still unused?) after the ack

        def run(user_id: str) -> None:
            order = register_from_account(
                services, team_id=team_id(body), user_id=user_id, purchase_ref=ref
            )
            announce(services, order.id)

        later(services, body, run)
