"""Small Block Kit pieces used across views."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
from slack_sdk.models.views import View

from bot import workflow
from bot.application_form import DEFAULT_KEY_ALGORITHM, KEY_ALGORITHM_NAMES
from bot.csr_method import CSRMethod, certdesk_makes_key
from bot.organization import Organization
from bot.products import DOMAIN_TYPES, PRODUCTS
from storage.models import Order
from storage.order_rows import ListedOrder

#: An order as a view reads it: loaded whole, or as a list's row.
Shown = Order | ListedOrder

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


def notice_modal(title: str, text: str) -> View:
    """A modal that only says something."""
    return View(type="modal", title=plain(title), close=plain("Close"), blocks=[section(text)])


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


def state_words(order: Shown) -> str:
    """Emoji and plain words for an order's state."""
    try:
        return _STATE_WORDS[order.state]  # a State or its value: both find it
    except KeyError:
        raise ValueError(f"{order.state!r} is not an order state") from None


_STATE_WORDS: dict[str, str] = {
    s.value: f"{STATE_EMOJI[s]} {workflow.describe(s)}" for s in workflow.State
}


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
    names = [d.display for d in order.domains]
    return names_words(names[:limit], len(names), limit=limit)


def names_words(names: Sequence[str], total: int, *, limit: int = 5) -> str:
    """Domain names as typed (the first ``limit`` of ``total``), and how many more there are."""
    if not names:
        return "_no domains entered yet_"
    # One escape for the line: the backticks and commas around the names are left as they are.
    shown = esc(", ".join([f"`{n}`" for n in names[:limit]]))
    return shown + (f" and {total - limit} more" if total > limit else "")


def organization_words(org: Organization) -> str:
    """An organization in one line as the CA receives it, every field made inert."""
    return (
        f"{esc(org.legal_name)}, {esc(org.street)}, {esc(org.postal_code)} {esc(org.city)}, "
        f"{esc(org.state)}, {esc(org.country)} · {esc(org.phone)}"
    )


def csr_words(method: str | None, algorithm: str | None, *, ca_title: str, uploaded: str) -> str:
    """Who makes the CSR's key and which kind; ``uploaded`` when the requester made it."""
    name = algorithm or DEFAULT_KEY_ALGORITHM
    kind = KEY_ALGORITHM_NAMES.get(name, esc(name))
    if certdesk_makes_key(method):
        return f"generated by certdesk with a new {kind} key"
    if method == CSRMethod.CA_GENERATED:
        title = esc(ca_title)
        return (
            f"generated by {title} with a new {kind} key, which {title} keeps; certdesk "
            "fetches and seals it when the certificate is issued"
        )
    return uploaded


def to_dicts(blocks: Iterable[Block | dict]) -> list[dict]:
    """Blocks as dicts, validated by slack_sdk."""
    return [b if isinstance(b, dict) else b.to_dict() for b in blocks]


# The same blocks as plain dicts, for answers on the hot path: slack_sdk's models validate
# every field on each ``to_dict()`` (most of what a `/cert list` cost). The builders give
# exactly what the models give (tests/bot/views compare them) and keep the same clipping.


def mrkdwn_dict(text: str) -> dict[str, Any]:
    """``mrkdwn(text).to_dict()``."""
    return {"type": "mrkdwn", "text": text}


def plain_dict(text: str) -> dict[str, Any]:
    """``plain(text).to_dict()``."""
    return {"type": "plain_text", "text": text, "emoji": True}


def section_dict(text: str) -> dict[str, Any]:
    """``section(text).to_dict()``."""
    return {"type": "section", "text": mrkdwn_dict(_clip(text, 3000))}


def context_dict(text: str) -> dict[str, Any]:
    """``context(text).to_dict()``."""
    return {"type": "context", "elements": [mrkdwn_dict(_clip(text, 3000))]}


def header_dict(text: str) -> dict[str, Any]:
    """``HeaderBlock(text=plain(text)).to_dict()``."""
    return {"type": "header", "text": plain_dict(text)}


def divider_dict() -> dict[str, Any]:
    """``DividerBlock().to_dict()``."""
    return {"type": "divider"}


def button_dict(label: str, action_id: str, value: str, *, style: str | None = None) -> dict:
    """``button(label, action_id, value, style=style).to_dict()``."""
    made = {"type": "button", "text": plain_dict(label), "action_id": action_id, "value": value}
    if style:
        made["style"] = style
    return made


def actions_dict(elements: list[dict[str, Any]], *, block_id: str | None = None) -> dict:
    """``ActionsBlock(elements=..., block_id=...).to_dict()``."""
    made: dict[str, Any] = {"type": "actions", "elements": elements}
    if block_id:
        made["block_id"] = block_id
    return made


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
