"""The App Home tab: a person's orders grouped by what they need, each with its next step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from bot import workflow
from bot.views import ids
from bot.views.approvals import approval_buttons
from bot.views.common import (
    button,
    context,
    domain_words,
    esc,
    plain,
    purchase_words,
    section,
    state_words,
)
from bot.views.orders import manage_buttons, next_action_buttons
from bot.views.verification import duration_words
from storage.models import Order

#: Slack's limit for a Home tab.
MAX_BLOCKS = 100

S = workflow.State
#: Groups in the order shown: what needs the person first, what has ended last.
GROUPS: tuple[tuple[str, frozenset[workflow.State]], ...] = (
    ("Needs you", frozenset({S.PURCHASED, S.FAILED})),
    ("Waiting for approval", frozenset({S.AWAITING_APPROVAL})),
    ("In progress at the CA", frozenset({S.SUBMITTED, S.AWAITING_VERIFICATION})),
    ("Issued", frozenset({S.ISSUED})),
    ("Ended", frozenset({S.EXPIRED, S.REVOKED, S.CANCELLED})),
)


def home_view(
    orders: Sequence[Order],
    *,
    user_id: str,
    admin: bool,
    approvals: Sequence[Waiting] = (),
    now: datetime | None = None,
) -> View:
    """The Home tab for ``user_id``: what waits for their approval, then every order they may
    see, grouped, within 100 blocks."""
    title = "All certificate orders" if admin else "Your certificate orders"
    top: list[Block] = [
        HeaderBlock(text=plain(title)),
        section(
            "Bought a certificate? Register it here, then certdesk walks you through "
            "completing it, the CA's review and domain verification.",
            accessory=button("New order", ids.OPEN_NEW_ORDER, "new", style="primary"),
        ),
    ]
    if admin:
        top.append(context("You are a certdesk admin: you see and can act on everyone's orders."))
    if approvals:
        top += _approvals(approvals, now=now or datetime.now(UTC))
    if not orders:
        top.append(section("You have no certificate orders yet. Register one with *New order*."))
        return View(type="home", blocks=top)
    # Keep room for the note that says the list was cut short.
    budget = MAX_BLOCKS - len(top) - 2
    body: list[Block] = []
    shown = 0
    for name, states in GROUPS:
        group = [o for o in orders if o.state in states]
        if not group:
            continue
        heading: list[Block] = [DividerBlock(), HeaderBlock(text=plain(f"{name} ({len(group)})"))]
        for order in group:
            entry = _entry(order, user_id=user_id, admin=admin)
            need = len(entry) + len(heading)
            if len(body) + need > budget:
                break
            body += heading + entry
            heading = []
            shown += 1
    if shown < len(orders):
        body.append(DividerBlock())
        body.append(
            context(
                f"Showing {shown} of {len(orders)} orders (the ones that need you first). "
                "`/cert list` lists them and `/cert status CD-0042` shows any one of them."
            )
        )
    return View(type="home", blocks=top + body)


def _entry(order: Order, *, user_id: str, admin: bool) -> list[Block]:
    owner = order.requester_id == user_id
    can_act = owner or admin
    state = workflow.State(order.state)
    lines = [f"*{order.ref}* — {state_words(order)}", purchase_words(order)]
    lines.append(f"Domains: {domain_words(order, limit=3)}")
    if not owner and can_act:
        lines.append(f"Requested by <@{order.requester_id}>")
    elif not owner:
        lines.append(f"You watch this order; <@{order.requester_id}> owns it.")
    if order.failure_reason and state is S.FAILED:
        lines.append(f"Why it failed: {esc(order.failure_reason)}")
    buttons = [
        *next_action_buttons(order, can_act=can_act, viewer=user_id),
        *manage_buttons(order, can_act=can_act),
    ]
    return [
        section("\n".join(lines)),
        ActionsBlock(block_id=f"home_{order.id}", elements=buttons),
    ]


#: An order waiting for the reader's approval: (ref, order id, requester, asked at).
Waiting = tuple[str, int, str, datetime]
#: At most this many approvals on the Home tab; `/cert approvals` lists them all.
_HOME_APPROVALS = 5


def _approvals(waiting: Sequence[Waiting], *, now: datetime) -> list[Block]:
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(text=plain(f"Waiting for your approval ({len(waiting)})")),
    ]
    for ref, order_id, requester, asked in waiting[:_HOME_APPROVALS]:
        blocks += [
            section(f"*{ref}* from <@{requester}> — waiting {duration_words(now - asked)}"),
            approval_buttons(order_id, block_id=f"home_approval_{order_id}"),
        ]
    if len(waiting) > _HOME_APPROVALS:
        blocks.append(context("`/cert approvals` lists the rest."))
    return blocks
