"""Small Block Kit pieces used across views."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
)

from bot import workflow
from bot.products import DOMAIN_TYPES, PRODUCTS
from storage.models import Order

STATE_EMOJI = {
    workflow.State.PURCHASED: ":memo:",
    workflow.State.AWAITING_APPROVAL: ":raised_hand:",
    workflow.State.SUBMITTED: ":hourglass_flowing_sand:",
    workflow.State.AWAITING_VERIFICATION: ":email:",
    workflow.State.FAILED: ":x:",
    workflow.State.ISSUED: ":white_check_mark:",
    workflow.State.EXPIRED: ":calendar:",
    workflow.State.REVOKED: ":no_entry:",
    workflow.State.CANCELLED: ":wastebasket:",
}


def esc(text: object) -> str:
    """User- or CA-supplied text made inert in mrkdwn: no mention, channel ping or link.

    Slack reads ``<!channel>``, ``<@U…>``, ``<#C…>`` and ``<url|label>`` as markup in any
    mrkdwn field and in a message's top-level text; escaping ``&``, ``<`` and ``>`` turns
    them back into the characters the person typed.
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> MarkdownTextObject:
    """A mrkdwn text object."""
    return MarkdownTextObject(text=text)


def plain(text: str) -> PlainTextObject:
    """A plain-text object with emoji."""
    return PlainTextObject(text=text, emoji=True)


def section(text: str, **kwargs: Any) -> SectionBlock:
    """A section of mrkdwn text (Slack caps it at 3000 characters)."""
    return SectionBlock(text=mrkdwn(_clip(text, 3000)), **kwargs)


def context(text: str) -> ContextBlock:
    """A small grey line."""
    return ContextBlock(elements=[mrkdwn(_clip(text, 3000))])


def button(
    label: str, action_id: str, value: str, *, style: str | None = None, block_id: str | None = None
) -> ButtonElement:
    """A button whose value is the order number it acts on."""
    return ButtonElement(text=plain(label), action_id=action_id, value=value, style=style)


def options(choices: dict[Any, str]) -> list[Option]:
    """Select options from a {value: label} mapping."""
    return [Option(value=str(value), label=label) for value, label in choices.items()]


def option_for(choices: dict[Any, str], value: Any) -> Option | None:
    """The option for ``value`` if it is one of ``choices``."""
    for key, label in choices.items():
        if str(key) == str(value):
            return Option(value=str(key), label=label)
    return None


def state_words(order: Order) -> str:
    """Emoji and plain words for an order's state."""
    state = workflow.State(order.state)
    return f"{STATE_EMOJI[state]} {workflow.describe(state)}"


class Bought(Protocol):
    """What was bought: an order, or an event that carries its purchase."""

    @property
    def product(self) -> str: ...
    @property
    def domain_type(self) -> str: ...
    @property
    def domain_count(self) -> int: ...
    @property
    def validity_days(self) -> int: ...
    @property
    def purchase_ref(self) -> str | None: ...


def purchase_words(order: Bought) -> str:
    """What was bought, in one line."""
    count = "1 domain" if order.domain_count == 1 else f"{order.domain_count} domains"
    bought = f" · purchase {esc(order.purchase_ref)}" if order.purchase_ref else ""
    return (
        f"{PRODUCTS[order.product]} · {DOMAIN_TYPES[order.domain_type]} · {count} · "
        f"{order.validity_days} days{bought}"
    )


def domain_words(order: Order, *, limit: int = 5) -> str:
    """The order's domains as typed, shortened to ``limit``."""
    names = [esc(d.display) for d in order.domains]
    if not names:
        return "_no domains entered yet_"
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def to_dicts(blocks: Iterable[Block | dict]) -> list[dict]:
    """Blocks as dicts, validated by slack_sdk."""
    return [b if isinstance(b, dict) else b.to_dict() for b in blocks]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
