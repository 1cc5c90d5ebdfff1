"""The modal that registers a purchased certificate."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    InputBlock,
    NumberInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.products import DOMAIN_TYPES, PRODUCTS, VALIDITY_DAYS
from bot.views import ids
from bot.views.common import context, option_for, options, plain


def new_order_modal() -> View:
    """Ask what was bought: product, domain type, number of domains, validity."""
    return View(
        type="modal",
        callback_id=ids.NEW_ORDER,
        title=plain("New certificate order"),
        submit=plain("Register"),
        close=plain("Cancel"),
        blocks=[
            context("Register a certificate you have bought, exactly as on the receipt."),
            InputBlock(
                block_id=ids.PRODUCT,
                label=plain("Product"),
                element=StaticSelectElement(
                    action_id=ids.PRODUCT,
                    placeholder=plain("Choose the product"),
                    options=options(PRODUCTS),
                ),
            ),
            InputBlock(
                block_id=ids.DOMAIN_TYPE,
                label=plain("Domain type"),
                element=RadioButtonsElement(
                    action_id=ids.DOMAIN_TYPE,
                    options=options(DOMAIN_TYPES),
                    initial_option=option_for(DOMAIN_TYPES, "single"),
                ),
            ),
            InputBlock(
                block_id=ids.DOMAIN_COUNT,
                label=plain("Number of domains"),
                hint=plain("How many domains the certificate protects, as bought."),
                element=NumberInputElement(
                    action_id=ids.DOMAIN_COUNT, is_decimal_allowed=False, initial_value="1"
                ),
            ),
            InputBlock(
                block_id=ids.VALIDITY,
                label=plain("Validity"),
                element=StaticSelectElement(
                    action_id=ids.VALIDITY,
                    options=options(VALIDITY_DAYS),
                    initial_option=option_for(VALIDITY_DAYS, 200),
                ),
            ),
        ],
    )
