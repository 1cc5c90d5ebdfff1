"""Messages about orders: the order card, the list, status, and help."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, HeaderBlock

from bot import workflow
from bot.csr_method import certdesk_makes_key
from bot.views import ids
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
from storage.models import Order

#: Slack allows 50 blocks in a message; the list keeps room for its header and footer.
MAX_LISTED = 15  # 3 blocks each, a header and a footer: within 50 blocks a message


def next_action_buttons(order: Order, *, can_act: bool, viewer: str) -> list:
    """The buttons that move this order on from where it stands."""
    value = str(order.id)
    state = workflow.State(order.state)
    buttons = []
    if can_act and state is workflow.State.PURCHASED:
        buttons.append(button("Complete information", ids.OPEN_COMPLETE, value, style="primary"))
    if can_act and state is workflow.State.FAILED:
        buttons.append(button("Revise and resubmit", ids.REVISE, value, style="primary"))
    if can_act and state is workflow.State.AWAITING_VERIFICATION:
        buttons.append(button("I've verified — check now", ids.CHECK_NOW, value, style="primary"))
    if can_act and state in (workflow.State.ISSUED, workflow.State.EXPIRED):
        buttons.append(button("Renew", ids.RENEW, value))
    if viewer == order.requester_id and order.key_downloadable:
        # Only the requester: the key is theirs alone, admins included.
        buttons.append(button("Download private key", ids.DOWNLOAD_KEY, value))
    if can_act and state is workflow.State.ISSUED:
        buttons.append(button("Revoke", ids.REVOKE, value, style="danger"))
    buttons.append(button("Details", ids.SHOW_STATUS, value))
    return buttons


def manage_buttons(order: Order, *, can_act: bool) -> list:
    """Owner/admin buttons: manage watchers (while the order lives), cancel (before issue)."""
    if not can_act:
        return []
    value, state = str(order.id), workflow.State(order.state)
    buttons = []
    if state not in workflow.FINAL:
        buttons.append(button("Watchers", ids.OPEN_WATCHERS, value))
    if (state, workflow.Event.CANCEL) in workflow.TRANSITIONS:
        buttons.append(button("Cancel order", ids.CANCEL_ORDER, value, style="danger"))
    return buttons


def order_card(order: Order, *, can_act: bool, viewer: str) -> list[Block]:
    """One order: ID, state, purchase, domains, and what to do next."""
    lines = [
        f"*{order.ref}* — {state_words(order)}",
        purchase_words(order),
        f"Domains: {domain_words(order)}",
    ]
    if order.failure_reason and order.state == workflow.State.FAILED:
        lines.append(f"Why it failed: {esc(order.failure_reason)}")
    return [
        section("\n".join(lines)),
        ActionsBlock(
            block_id=f"order_{order.id}",
            elements=next_action_buttons(order, can_act=can_act, viewer=viewer),
        ),
    ]


def registered_message(order: Order) -> tuple[str, list[Block]]:
    """The DM the requester gets when an order is registered."""
    text = f"Order {order.ref} is registered. Next: complete its information."
    blocks: list[Block] = [
        section(f":tada: Order *{order.ref}* is registered.\n{purchase_words(order)}"),
        section(
            "Next, complete the application: the domains, the applicant and how the CSR "
            "and private key are made. Nothing goes to the CA until you submit it."
        ),
        ActionsBlock(
            elements=[
                button("Complete information", ids.OPEN_COMPLETE, str(order.id), style="primary")
            ]
        ),
    ]
    return text, blocks


def order_list(orders: Sequence[Order], *, user_id: str, admin: bool) -> tuple[str, list[Block]]:
    """`/cert list`: the orders a user can see, newest first."""
    if not orders:
        text = "You have no certificate orders yet. Register one with `/cert new`."
        return text, [section(text)]
    blocks: list[Block] = [HeaderBlock(text=plain("Certificate orders"))]
    for order in orders[:MAX_LISTED]:
        can_act = admin or order.requester_id == user_id
        blocks += [DividerBlock(), *order_card(order, can_act=can_act, viewer=user_id)]
    if len(orders) > MAX_LISTED:
        blocks.append(
            context(f"Showing the newest {MAX_LISTED} of {len(orders)}; see the Home tab.")
        )
    text = f"You can see {len(orders)} order(s): " + ", ".join(
        f"{o.ref} ({workflow.describe(o.state)})" for o in orders[:MAX_LISTED]
    )
    return text, blocks


def order_status(order: Order, *, can_act: bool, viewer: str) -> tuple[str, list[Block]]:
    """`/cert status ID`: everything about one order."""
    lines = [
        f"*State:* {state_words(order)}",
        f"*Bought:* {purchase_words(order)}",
        f"*Requester:* <@{order.requester_id}>",
        f"*Domains:* {domain_words(order, limit=50)}",
    ]
    if order.applicant:
        lines.append(f"*Applicant mailbox:* {esc(order.applicant.email)}")
    if order.csr_method:
        method = "generated by certdesk" if certdesk_makes_key(order.csr_method) else "uploaded"
        lines.append(
            f"*CSR:* {method}" + (f" ({order.key_algorithm})" if order.key_algorithm else "")
        )
    if order.watchers:
        lines.append("*Watchers:* " + ", ".join(f"<@{w.user_id}>" for w in order.watchers))
    if order.failure_reason:
        lines.append(f"*Why it failed:* {esc(order.failure_reason)}")
    if order.not_after:
        lines.append(f"*Valid until:* {order.not_after:%Y-%m-%d %H:%M} UTC")
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Order {order.ref}")),
        section("\n".join(lines)),
        ActionsBlock(
            elements=[
                *next_action_buttons(order, can_act=can_act, viewer=viewer),
                *manage_buttons(order, can_act=can_act),
            ]
        ),
    ]
    text = f"Order {order.ref}: {workflow.describe(order.state)}"
    return text, blocks


def help_message() -> tuple[str, list[Block]]:
    """`/cert help`: what certdesk does and each subcommand."""
    text = (
        "*certdesk* gets your TLS certificate applications through to issuance: it collects "
        "and checks the application, submits it to the CA, reminds you to verify your "
        "domains, and delivers the certificate privately in a DM."
    )
    commands = "\n".join(
        [
            "`/cert new` — register a certificate you bought",
            "`/cert complete ID` — enter domains, applicant, organization and CSR, then submit",
            "`/cert list` — your orders and where they stand",
            "`/cert status ID` — everything about one order (IDs look like CD-0042)",
            "`/cert watchers ID` — let colleagues follow an order (they can't change it)",
            "`/cert cancel ID` — cancel an order that is not issued yet",
            "`/cert approvals` — orders waiting for your approval",
            "`/cert admin list|add|remove @person` — this workspace's certdesk admins",
            "`/cert help` — this message",
        ]
    )
    return "certdesk help: /cert new, complete, list, status, help", [
        section(text),
        section(commands),
        context("Private keys and certificates only ever arrive in your DM, never in a channel."),
    ]


def renewal_message(new: Order, *, old_ref: str) -> tuple[str, list[Block]]:
    """The DM that hands over a renewal: the new order, prefilled, with the Complete button."""
    text = (
        f"Renewal of {old_ref} started as {new.ref}. Its information is filled in from "
        f"{old_ref}: check it and submit."
    )
    blocks: list[Block] = [
        section(f":repeat: Renewal of *{old_ref}* started as *{new.ref}*.\n{purchase_words(new)}"),
        section(
            f"The domains, applicant and CSR choice are filled in from {old_ref}. Check them, "
            "change what is different this time, and submit. A fresh key is made for "
            "certificates whose key certdesk generates."
        ),
        ActionsBlock(
            elements=[
                button("Complete information", ids.OPEN_COMPLETE, str(new.id), style="primary")
            ]
        ),
    ]
    return text, blocks


def admin_answer(
    action: str, *, admins: Sequence[str], operators: Sequence[str], user: str | None
) -> str:
    """`/cert admin …`: what changed (``action``), and who the workspace's admins are now."""
    who = ", ".join(f"<@{u}>" for u in sorted(admins)) or "nobody yet"
    said = {
        "list": "",
        "added": f"<@{user}> is now a certdesk admin of this workspace. ",
        "already": f"<@{user}> already is a certdesk admin of this workspace. ",
        "removed": f"<@{user}> is no longer a certdesk admin of this workspace. ",
        "absent": f"<@{user}> was not a certdesk admin of this workspace. ",
    }[action]
    operators_line = (
        f" Admins everywhere (set where certdesk runs): "
        f"{', '.join(f'<@{u}>' for u in sorted(operators))}."
        if operators
        else ""
    )
    return f"{said}This workspace's certdesk admins: {who}.{operators_line}"


def workspace_settings(channel: str | None, approvers: Sequence[str]) -> str:
    """`/cert admin channel|approvers`: the workspace's own settings as they stand."""
    where = f"<#{channel}>" if channel else "none of its own (CERTDESK_NOTIFY_CHANNEL applies)"
    who = ", ".join(f"<!subteam^{a}>" if a.startswith("S") else f"<@{a}>" for a in approvers)
    return (
        f"This workspace's notify channel: {where}. Its approvers: "
        f"{who or 'none of its own (CERTDESK_APPROVERS, else the admins)'}."
    )
