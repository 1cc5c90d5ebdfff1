"""Approval before the CA: the request approvers read, the reason modal, and the lists."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, InputBlock, PlainTextInputElement
from slack_sdk.models.views import View

from bot import events
from bot.approval_form import MAX_REASON, SEEN_DIGEST
from bot.products import PRODUCTS
from bot.views import ids
from bot.views.common import button, context, csr_words, esc, organization_words, plain, section
from bot.views.verification import duration_words, when

#: An order waiting for the reader's approval: (ref, order id, requester, asked at).
Waiting = tuple[str, int, str, datetime]
#: Characters of the approval request's section that list domain names (a section holds 3,000).
_NAMES_BUDGET = 1500


def application_lines(app: events.Application, *, requester: str) -> str:
    """The application as the CA would receive it, for the approvers."""
    # The names get what a section leaves beside the other lines (250 long names would push
    # the applicant and the requester out of it); the digest covers every name.
    shown = [f"`{esc(d)}`" for d in app.domains[:50]]
    while len(shown) > 1 and sum(len(n) + 2 for n in shown) > _NAMES_BUDGET:
        shown.pop()
    names = ", ".join(shown)
    if len(app.domains) > len(shown):
        names += f" and {len(app.domains) - len(shown)} more"
    csr = csr_words(
        app.csr_method,
        app.key_algorithm,
        ca_title="the CA",
        uploaded="uploaded by the requester (certdesk never sees the key)",
    )
    lines = [
        f"*Product:* {PRODUCTS.get(app.product, app.product)}",
        f"*Domains:* {names}",
        f"*Applicant:* {esc(app.applicant_name)}, {esc(app.applicant_email)}, "
        f"{esc(app.applicant_phone)} (the CA writes to this mailbox)",
    ]
    if app.organization is not None:
        lines.append(f"*Organization:* {organization_words(app.organization)}")
    lines += [f"*CSR:* {csr}", f"*Requested by:* <@{requester}>"]
    return "\n".join(lines)


def approval_buttons(order_id: int, *, block_id: str, digest: str | None = None) -> ActionsBlock:
    """Approve and Reject… for one order (every place an approver can decide from). Where the
    message shows the application, ``digest`` names it: a click then decides only if that is
    still the application asked about."""
    value = f"{order_id}:{digest[:SEEN_DIGEST]}" if digest else str(order_id)
    return ActionsBlock(
        block_id=block_id,
        elements=[
            button("Approve", ids.APPROVE, value, style="primary"),
            button("Reject…", ids.REJECT, value, style="danger"),
        ],
    )


def request_blocks(event: events.ApprovalAsked) -> list[Block]:
    """The approver's DM: the application, its digest, and Approve / Reject."""
    return [
        section(f":raised_hand: *{event.ref}* needs your approval before it goes to the CA."),
        section(application_lines(event.application, requester=event.requester)[:3000]),
        context(f"Application digest (SHA-256): `{event.application.digest[:SEEN_DIGEST]}…`"),
        approval_buttons(
            event.order_id, block_id=f"approval_{event.order_id}", digest=event.application.digest
        ),
    ]


def decided_blocks(event: events.ApprovalDecided) -> list[Block]:
    """What an approver's request DM becomes once it is decided: who, when, why."""
    verb = {
        "approved": ":white_check_mark: Approved",
        "rejected": ":x: Rejected",
        "withdrawn": ":leftwards_arrow_with_hook: Withdrawn",
        "cancelled": ":wastebasket: Cancelled",
    }.get(event.decision, event.decision)
    by = "its requester, to change it" if event.decision == "withdrawn" else f"<@{event.by}>"
    line = f"{verb} by {by} {when(event.at)}."
    if event.override:
        line += " (An admin, in the approvers' place.)"
    blocks: list[Block] = [section(f"*{event.ref}* — {line}")]
    if event.reason:
        blocks.append(context(f"Reason: {esc(event.reason)}"))
    blocks.append(context("Nothing more to decide here."))
    return blocks


def reason_modal(*, ref: str, order_id: int, override: bool, seen: str | None = None) -> View:
    """Ask why: before rejecting, or before an admin approves in the approvers' place."""
    if override:
        title, submit = "Approve as admin", "Approve"
        words = (
            f"You are approving *{ref}* in the approvers' place. Say why: the requester and the "
            "audit trail see it."
        )
    else:
        title, submit = "Reject the application", "Reject"
        words = (
            f"Say what must change in *{ref}*: the requester reads it and can revise and resubmit."
        )
    return View(
        type="modal",
        callback_id=ids.OVERRIDE_REASON if override else ids.REJECT_REASON,
        private_metadata=json.dumps({"order_id": order_id, **({"seen": seen} if seen else {})}),
        title=plain(title),
        submit=plain(submit),
        close=plain("Back"),
        blocks=[
            section(words),
            InputBlock(
                block_id=ids.APPROVAL_REASON,
                label=plain("Reason"),
                element=PlainTextInputElement(
                    action_id=ids.APPROVAL_REASON, multiline=True, max_length=MAX_REASON
                ),
            ),
        ],
    )


def waiting_entry(item: Waiting, *, now: datetime, block_prefix: str) -> list[Block]:
    """One order waiting for the reader's approval: who asked, how long ago, and the buttons."""
    ref, order_id, requester, asked = item
    return [
        section(f"*{ref}* from <@{requester}> — waiting {duration_words(now - asked)}"),
        approval_buttons(order_id, block_id=f"{block_prefix}{order_id}"),
    ]


def waiting_list(items: Sequence[Waiting], *, now: datetime) -> tuple[str, list[Block]]:
    """`/cert approvals`: (ref, order id, requester, asked at) waiting for the reader."""
    if not items:
        text = "Nothing waits for your approval."
        return text, [section(f":white_check_mark: {text}")]
    blocks: list[Block] = [section(f"*{len(items)} order(s) wait for your approval*")]
    for item in items[:15]:
        blocks += waiting_entry(item, now=now, block_prefix="approvals_")
    if len(items) > 15:
        blocks.append(context(f"And {len(items) - 15} more; the oldest are shown first."))
    text = f"{len(items)} order(s) wait for your approval: " + ", ".join(i[0] for i in items[:15])
    return text, blocks
