"""The confirmation shown before an order is cancelled."""

from __future__ import annotations

import json

from slack_sdk.models.views import View

from bot import workflow
from bot.views import ids
from bot.views.common import context, domain_words, plain, purchase_words, section
from storage.models import Order


def cancel_modal(order: Order) -> View:
    """Ask before cancelling: what is cancelled, and whether the CA is told."""
    at_ca = order.state in workflow.IN_FLIGHT and order.ca_ref
    consequence = (
        "certdesk will ask the CA to withdraw it; if the CA refuses, the order stays as it is "
        "and you'll be told why."
        if at_ca
        else "It has not been sent to the CA (or the CA already turned it down), so only "
        "certdesk's record changes."
    )
    return View(
        type="modal",
        callback_id=ids.CONFIRM_CANCEL,
        private_metadata=json.dumps({"order_id": order.id}),
        title=plain(f"Cancel {order.ref}?"),
        submit=plain("Cancel the order"),
        close=plain("Keep it"),
        blocks=[
            section(
                f"*{order.ref}* — {workflow.describe(order.state)}\n{purchase_words(order)}\n"
                f"Domains: {domain_words(order)}"
            ),
            section(f"Cancelling ends this order for good. {consequence}"),
            context("Its requester and watchers are told who cancelled it."),
        ],
    )
