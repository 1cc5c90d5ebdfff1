"""The confirmation shown before an issued certificate is revoked, with its RFC 5280 reason."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import InputBlock, RadioButtonsElement
from slack_sdk.models.views import View

from bot.views import ids
from bot.views.common import context, domain_words, option_for, options, plain, section
from storage.models import Order

#: The reason pre-selected: saying nothing in particular is always true.
DEFAULT_REASON = 0


def revoke_modal(order: Order, *, reasons: dict[int, str]) -> View:
    """Ask before revoking: which certificate, what it means, and why (a CRLReason)."""
    valid_until = f" (valid until {order.not_after:%Y-%m-%d})" if order.not_after else ""
    return View(
        type="modal",
        callback_id=ids.CONFIRM_REVOKE,
        private_metadata=json.dumps({"order_id": order.id}),
        title=plain(f"Revoke {order.ref}?"),
        submit=plain("Revoke certificate"),
        close=plain("Keep it"),
        blocks=[
            section(f"*{order.ref}* — issued{valid_until}\nDomains: {domain_words(order)}"),
            section(
                "Revoking tells the CA to stop vouching for this certificate: browsers will "
                "refuse it, and it cannot be undone. Replace it wherever it is installed first."
            ),
            InputBlock(
                block_id=ids.REVOKE_REASON,
                label=plain("Reason"),
                element=RadioButtonsElement(
                    action_id=ids.REVOKE_REASON,
                    options=options(reasons),
                    initial_option=option_for(reasons, DEFAULT_REASON),
                ),
            ),
            context(
                "If the private key leaked, choose “exposed or lost”: the CA then refuses "
                "that key for new certificates too."
            ),
        ],
    )
