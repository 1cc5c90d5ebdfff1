"""Messages about orders: the order card, the list, status, and help."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import orjson
from slack_sdk.models.blocks import ActionsBlock, Block, HeaderBlock

from bot import workflow
from bot.errors import NotFound
from bot.views import ids
from bot.views.common import (
    Bought,
    Shown,
    actions_dict,
    button,
    button_dict,
    context,
    context_dict,
    csr_words,
    divider_dict,
    domain_words,
    esc,
    header_dict,
    names_words,
    plain,
    purchase_words,
    section,
    section_dict,
    state_words,
    to_dicts,
)
from storage.models import Order
from storage.order_rows import ListedOrder

#: Slack allows 50 blocks in a message; the list keeps room for its header and footer.
MAX_LISTED = 15  # 3 blocks each, a header and a footer: within 50 blocks a message


def next_actions(order: Shown, *, can_act: bool, viewer: str) -> list[tuple[str, str, str | None]]:
    """The buttons that move this order on from where it stands: (label, action id, style)."""
    return list(_actions(str(order.state), can_act, _offers_key(order, viewer)))


def _offers_key(order: Shown, viewer: str) -> bool:
    """Only the requester gets the key button: the key is theirs alone, admins included."""
    return viewer == order.requester_id and order.key_downloadable


@functools.cache
def _actions(state_value: str, can_act: bool, key: bool) -> tuple[tuple[str, str, str | None], ...]:
    """next_actions for a state, whether the viewer may act, and whether the key is offered."""
    state = workflow.State(state_value)
    actions: list[tuple[str, str, str | None]] = []
    if can_act and state is workflow.State.PURCHASED:
        actions.append(("Complete information", ids.OPEN_COMPLETE, "primary"))
    if can_act and state is workflow.State.FAILED:
        actions.append(("Revise and resubmit", ids.REVISE, "primary"))
    if can_act and state is workflow.State.AWAITING_VERIFICATION:
        actions.append(("I've verified — check now", ids.CHECK_NOW, "primary"))
    if can_act and state in (workflow.State.ISSUED, workflow.State.EXPIRED):
        actions.append(("Renew", ids.RENEW, None))
    if key:
        actions.append(("Download private key", ids.DOWNLOAD_KEY, None))
    if can_act and state is workflow.State.ISSUED:
        actions.append(("Revoke", ids.REVOKE, "danger"))
    actions.append(("Details", ids.SHOW_STATUS, None))
    return tuple(actions)


def next_action_buttons(order: Order, *, can_act: bool, viewer: str) -> list:
    """The buttons that move this order on from where it stands."""
    value = str(order.id)
    return [
        button(label, action_id, value, style=style)
        for label, action_id, style in next_actions(order, can_act=can_act, viewer=viewer)
    ]


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


def list_card(order: ListedOrder, *, can_act: bool, viewer: str) -> list[dict[str, Any]]:
    """One order of a list, as Block Kit dicts: ID, state, purchase, domains, what to do next."""
    text = (
        f"*{order.ref}* — {state_words(order)}\n{purchase_words(order)}\n"
        f"Domains: {names_words(order.names, order.names_total)}"
    )
    if order.failure_reason and order.state == workflow.State.FAILED:
        text += f"\nWhy it failed: {esc(order.failure_reason)}"
    value = str(order.id)
    buttons = [
        dict(button, value=value)
        for button in _button_dicts(order.state, can_act, _offers_key(order, viewer))
    ]
    return [section_dict(text), actions_dict(buttons, block_id=f"order_{value}")]


@functools.cache
def _button_dicts(state_value: str, can_act: bool, key: bool) -> tuple[dict[str, Any], ...]:
    """next_actions as button dicts, to be copied with the order's id as their value (a list
    shows ten cards on every answer: building each button afresh was a fifth of it). The
    copies share each button's label object: nothing changes an answer's blocks once built."""
    return tuple(
        button_dict(label, action_id, "", style=style)
        for label, action_id, style in _actions(state_value, can_act, key)
    )


def registered_message(ref: str, order_id: int, bought: Bought) -> tuple[str, list[Block]]:
    """The DM the requester gets when an order is registered."""
    text = f"Order {ref} is registered. Next: complete its information."
    blocks: list[Block] = [
        section(f":tada: Order *{ref}* is registered.\n{purchase_words(bought)}"),
        section(
            "Next, complete the application: the domains, the applicant and how the CSR "
            "and private key are made. Nothing goes to the CA until you submit it."
        ),
        ActionsBlock(
            elements=[
                button("Complete information", ids.OPEN_COMPLETE, str(order_id), style="primary")
            ]
        ),
    ]
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
        csr = csr_words(
            order.csr_method, order.key_algorithm, ca_title="the CA", uploaded="uploaded"
        )
        lines.append(f"*CSR:* {csr}")
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


@functools.cache
def help_reply() -> tuple[str, tuple[dict[str, Any], ...]]:
    """`/cert help` as Block Kit dicts, built and validated once per process (it never changes,
    and slack_sdk's validation is most of what answering it costs)."""
    text, blocks = help_message()
    return text, tuple(to_dicts(blocks))


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


def list_page(
    orders: Sequence[ListedOrder],
    *,
    total: int,
    words: str,
    older: int | None,
    newer: int | None,
    user_id: str,
    admin: bool,
    capped: bool,
) -> tuple[str, list[dict[str, Any]]]:
    """`/cert list [filter]`: one page of orders, newest first, with buttons to page on.

    Block Kit dicts built directly (see bot.views.common): a list is answered often, and
    validating its models on every answer cost more than reading the orders.
    """
    what = f" matching `{esc(words)}`" if words else ""
    if not orders:
        text = f"No certificate orders{what}." if words else NO_ORDERS
        return text, [section_dict(text)]
    count = f"{total:,}+" if capped else f"{total:,}"
    shown = orders[:MAX_LISTED]
    blocks = [header_dict("Certificate orders")]
    blocks.append(context_dict(f"{count} order(s){what}, newest first."))
    for order in shown:
        can_act = admin or order.requester_id == user_id
        blocks.append(divider_dict())
        blocks += list_card(order, can_act=can_act, viewer=user_id)
    paging = [
        *(
            [button_dict("Newer orders", ids.LIST_NEWER, list_cursor(words, after=newer))]
            if newer
            else []
        ),
        *(
            [button_dict("Older orders", ids.LIST_OLDER, list_cursor(words, before=older))]
            if older
            else []
        ),
    ]
    if paging:
        blocks.append(actions_dict(paging, block_id="list_paging"))
    text = f"{count} order(s){what}: " + ", ".join(
        [f"{o.ref} ({workflow.describe(o.state)})" for o in shown]
    )
    return text, blocks


#: What an empty `/cert list` says.
NO_ORDERS = "You have no certificate orders yet. Register one with `/cert new`."


def list_cursor(words: str, *, before: int | None = None, after: int | None = None) -> str:
    """A paging button's value: the filter as typed and where the next page starts."""
    return orjson.dumps({"q": words[:200], "before": before, "after": after}).decode()


def read_list_cursor(value: str) -> tuple[str, int | None, int | None]:
    """(filter words, before, after) from a paging button; NotFound for anything else."""
    try:
        data = orjson.loads(value)  # orjson.JSONDecodeError is a ValueError
        words, before, after = str(data["q"]), data.get("before"), data.get("after")
    except (ValueError, KeyError, TypeError):
        raise NotFound("That button does not say which page to show; run `/cert list`.") from None
    if not all(v is None or (isinstance(v, int) and v > 0) for v in (before, after)):
        raise NotFound("That button does not say which page to show; run `/cert list`.")
    return words, before, after
