"""The App Home tab: a person's orders grouped by what they need, each with its next step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from bot import workflow
from bot.views import ids
from bot.views.approvals import Waiting, waiting_entry
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
from storage.home_pages import HOME_GROUPS, GroupCount
from storage.models import Order

#: Slack's limit for a Home tab.
MAX_BLOCKS = 100

#: Each group's heading, and where `/cert list` shows the rest (filters of bot.list_query).
TITLES: dict[str, tuple[str, str]] = {
    "needs_you": ("Needs you", "`/cert list failed` lists the failed ones, `/cert list` all"),
    "approval": ("Waiting for approval", "`/cert list` lists them all"),
    "at_ca": ("In progress at the CA", "`/cert list waiting` lists them all"),
    "issued": ("Issued", "`/cert list expiring` lists the ones ending soon, `/cert list` all"),
    "ended": ("Ended", "`/cert list` lists them all"),
}
#: Groups in the order shown (storage.home_pages.HOME_GROUPS): heading, states, hint.
GROUPS: tuple[tuple[str, frozenset[str], str, str], ...] = tuple(
    (key, frozenset(states), *TITLES[key]) for key, states in HOME_GROUPS
)


def home_view(
    orders: Sequence[Order],
    *,
    user_id: str,
    admin: bool,
    approvals: Sequence[Waiting] = (),
    approvals_total: int | None = None,
    counts: Mapping[str, GroupCount] | None = None,
    now: datetime | None = None,
) -> View:
    """The Home tab for ``user_id``: what waits for their approval, then their orders grouped,
    within 100 blocks.

    ``orders`` are the ones read for the Home (newest first within each group); ``counts``
    says how many each group holds in all (None: just the ones given), so a group shown in
    part says how many more there are and which `/cert list` shows them.
    """
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
        total = max(approvals_total or 0, len(approvals))
        top += _approvals(approvals, total=total, now=now or datetime.now(UTC))
    grouped = [
        (key, name, hint, [o for o in orders if o.state in states])
        for key, states, name, hint in GROUPS
    ]
    if counts is None:
        counts = {key: GroupCount(len(group)) for key, _, _, group in grouped}
    held = sum(counts[key].total for key, *_ in grouped if key in counts)
    if not held:
        top.append(section("You have no certificate orders yet. Register one with *New order*."))
        return View(type="home", blocks=top)
    # Keep room for the note that says the list was cut short.
    budget = MAX_BLOCKS - len(top) - 2
    body: list[Block] = []
    shown = 0
    for key, name, hint, group in grouped:
        count = counts.get(key, GroupCount(len(group)))
        if not count.total or len(body) + 3 > budget:
            continue
        heading: list[Block] = [DividerBlock(), HeaderBlock(text=plain(f"{name} ({_n(count)})"))]
        entries: list[Block] = []
        in_group = 0
        for order in group:
            entry = _entry(order, user_id=user_id, admin=admin)
            # One block stays free for the group's "more" line.
            if len(body) + len(heading) + len(entries) + len(entry) + 1 > budget:
                break
            entries += entry
            in_group += 1
        shown += in_group
        body += heading + entries
        if count.total > in_group:
            more = _n(GroupCount(count.total - in_group, count.capped))
            words = f"And {more} more" if in_group else f"{more} not shown here"
            body.append(context(f"{words} — {hint}."))
    capped = any(c.capped for c in counts.values())
    if shown < held or capped:
        everything = _n(GroupCount(held, capped))
        body.append(DividerBlock())
        body.append(
            context(
                f"Showing {shown} of {everything} orders (the ones that need you first). "
                "`/cert list` lists them and `/cert status CD-0042` shows any one of them."
            )
        )
    return View(type="home", blocks=top + body)


def _n(count: GroupCount) -> str:
    """A count as people read it: 37, 1,204, or 1,000+ where counting stopped."""
    return f"{count.total:,}{'+' if count.capped else ''}"


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
    if order.failure_reason and state is workflow.State.FAILED:
        lines.append(f"Why it failed: {esc(order.failure_reason)}")
    buttons = [
        *next_action_buttons(order, can_act=can_act, viewer=user_id),
        *manage_buttons(order, can_act=can_act),
    ]
    return [
        section("\n".join(lines)),
        ActionsBlock(block_id=f"home_{order.id}", elements=buttons),
    ]


#: At most this many approvals on the Home tab; `/cert approvals` lists them all.
_HOME_APPROVALS = 5


def _approvals(waiting: Sequence[Waiting], *, total: int, now: datetime) -> list[Block]:
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(text=plain(f"Waiting for your approval ({total})")),
    ]
    for item in waiting[:_HOME_APPROVALS]:
        blocks += waiting_entry(item, now=now, block_prefix="home_approval_")
    if total > min(len(waiting), _HOME_APPROVALS):
        blocks.append(context("`/cert approvals` lists the rest."))
    return blocks


def unavailable_home() -> View:
    """The Home tab while the database does not answer: says so instead of staying blank."""
    return View(
        type="home",
        blocks=[
            HeaderBlock(text=plain("Your certificate orders")),
            section(
                "certdesk's database is not answering just now, so your orders cannot be "
                "shown. Open this tab again in a minute; nothing of yours is lost."
            ),
        ],
    )
