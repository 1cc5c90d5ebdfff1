"""The modals that register a purchased certificate: typed in, or picked from the CA account."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    NumberInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.ca.base import Purchase
from bot.products import DOMAIN_TYPES, PRODUCTS, VALIDITY_DAYS
from bot.views import ids
from bot.views.common import context, esc, option_for, options, plain, section


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


def _pick_view(blocks: list[Block], *, close: str, submit: str | None = None) -> View:
    """One step of picking a purchase: each replaces the last in the same modal."""
    return View(
        type="modal",
        callback_id=ids.PICK_PURCHASE,
        title=plain("New certificate order"),
        submit=plain(submit) if submit else None,
        close=plain(close),
        blocks=blocks,
    )


def loading_modal() -> View:
    """Shown at once while certdesk asks the CA for the account's purchases."""
    return _pick_view(
        [section(":hourglass_flowing_sand: Loading the certificates bought on the account…")],
        close="Cancel",
    )


def _domains(p: Purchase) -> str:
    exact = f"{p.domain_count} domain{'s' if p.domain_count != 1 else ''}"
    if not p.wildcard_count:
        return exact
    wild = f"{p.wildcard_count} wildcard{'s' if p.wildcard_count != 1 else ''}"
    return f"{exact} + {wild}" if p.domain_count else wild


def purchase_label(p: Purchase) -> str:
    """One purchase in one line: ID, product, domain type, number of domains, validity."""
    kind = TYPE_WORDS.get(p.domain_type, p.domain_type)
    return f"{p.ref} · {p.product.upper()} · {kind} · {_domains(p)} · {p.validity_days} days"


#: The CA's domain types in words.
TYPE_WORDS = {
    "single": "single domain",
    "multiple": "multiple domains",
    "wildcard": "wildcard",
    "multiple+wildcard": "multiple domains and wildcards",
}


def pick_purchase_modal(purchases: Sequence[Purchase], *, ca_name: str) -> View:
    """Offer the account's purchases not yet applied for; what was bought comes from them."""
    shown = purchases[:100]  # a static select holds 100 options
    choices = {p.ref: purchase_label(p)[:75] for p in shown}
    listing = "\n".join(
        f"• `{esc(p.ref)}` — {esc(p.description)}: {esc(p.product.upper())}, "
        f"{TYPE_WORDS.get(p.domain_type, esc(p.domain_type))}, {_domains(p)}, "
        f"{p.validity_days} days"
        for p in shown[:20]
    )
    more = f"\n…and {len(shown) - 20} more in the list below." if len(shown) > 20 else ""
    return _pick_view(
        [
            section(
                f"Certificates bought on the {esc(ca_name)} account and not applied for yet:\n"
                f"{listing}{more}"
            ),
            InputBlock(
                block_id=ids.PURCHASE_REF,
                label=plain("Which one is this order for?"),
                hint=plain("What was bought (product, domains, validity) comes from the CA."),
                element=StaticSelectElement(
                    action_id=ids.PURCHASE_REF,
                    placeholder=plain("Choose a purchase"),
                    options=options(choices),
                    initial_option=option_for(choices, shown[0].ref) if len(shown) == 1 else None,
                ),
            ),
        ],
        close="Cancel",
        submit="Register",
    )


def no_purchases_modal(*, ca_name: str, buy_url: str) -> View:
    """The account has nothing bought and unused: say so, and where to buy."""
    where = f" on the console: {esc(buy_url)}" if buy_url else " from the CA"
    return _pick_view(
        [
            section(
                f"The {esc(ca_name)} account has no certificate that is bought and not yet "
                f"applied for, so there is nothing to register. Buy one{where} — then run "
                "`/cert new` again and pick it."
            ),
            context("A certificate already registered in certdesk is not offered twice."),
        ],
        close="Close",
    )


def problem_modal(text: str) -> View:
    """The CA could not list the purchases: its sentence (already inert) says what to do."""
    return _pick_view([section(f":warning: {text}")], close="Close")
