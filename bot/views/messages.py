"""Every event an order goes through, worded for the people who read it.

The use cases emit ``bot.events``; ``Messages.notice`` turns each into a ``Notice``: the
message for the person it is about (with buttons), the plain line watchers get, and the
line for the team channel (never secrets). This is the one place to read what certdesk says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import singledispatch
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block

from bot import events, workflow
from bot.domains import display_name
from bot.ports import Message, Notice
from bot.views import approvals, ids, keys, verification
from bot.views.common import button, context, esc, section, to_dicts
from bot.views.home import home_view
from bot.views.orders import registered_message

#: What a watcher reads when an event has no words of its own for them.
WATCHING = "(You watch this order.) "


class Messages:
    """The Presenter port: events to notices, and the App Home."""

    def notice(self, event: object) -> Notice:
        """The messages for one event."""
        return word(event)

    def home(
        self,
        orders: Sequence[Any],
        *,
        user_id: str,
        admin: bool,
        approvals: Sequence[Any] = (),
        approvals_total: int | None = None,
        counts: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        """The App Home view for ``user_id``, with what waits for their approval."""
        return home_view(
            orders,
            user_id=user_id,
            admin=admin,
            approvals=approvals,
            approvals_total=approvals_total,
            counts=counts,
        ).to_dict()


def message(text: str, blocks: Sequence[Block | dict] = ()) -> Message:
    """A Message from a fallback text and Block Kit blocks (validated by slack_sdk)."""
    return Message(text=text, blocks=tuple(to_dicts(blocks)))


def _to_people(text: str, blocks: Sequence[Block] = (), *, channel: str | None = None) -> Notice:
    return Notice(
        main=message(text, blocks),
        watchers=message(WATCHING + text),
        channel=message(channel) if channel else None,
    )


def _revise(headline: str, order_id: int) -> list[Block]:
    """A turned-down order: why, and the way back (everything typed is kept)."""
    value = str(order_id)
    return [
        section(headline),
        section("Fix what the reason names and submit again — everything you entered is kept."),
        ActionsBlock(
            elements=[
                button("Revise and resubmit", ids.REVISE, value, style="primary"),
                button("Details", ids.SHOW_STATUS, value),
            ]
        ),
    ]


@singledispatch
def word(event: object) -> Notice:
    """The Notice for ``event``."""
    raise TypeError(f"no words for {type(event).__name__}")


@word.register
def _(event: events.Registered) -> Notice:
    return Notice(main=message(*registered_message(event.ref, event.order_id, event)))


@word.register
def _(event: events.Submitted) -> Notice:
    ref = event.ref
    if event.by_email:
        text = (
            f"{ref} was submitted to the CA for review. Watch {esc(event.mailbox)} for its email."
        )
        what = (
            f"The CA will email *{esc(event.mailbox)}* to verify the domains. Watch that mailbox "
            "and follow the link in the email — until someone does, the order stays under review. "
            "certdesk will remind you."
        )
    elif event.steps:
        text = f"{ref} was submitted to the CA. Publish what it asks for to verify the domains."
        what = (
            "To prove control of the domains, publish exactly this — then press "
            "*I've verified — check now*. certdesk reminds you until it is done."
        )
    else:
        text = f"{ref} was submitted to the CA. certdesk will show you what to publish."
        what = (
            "The CA will ask you to prove control of the domains: certdesk will show you "
            "exactly which DNS records (or files) to publish, and remind you until it is done."
        )
    steps = [section(verification.record_lines(v)) for v in event.steps[:20]]
    review = []
    if event.reviewer_writes_to:
        review.append(
            section(
                f":email: The CA will also email *{esc(event.reviewer_writes_to)}* (the "
                "applicant) to confirm the organization, and may phone the applicant: answer "
                "it, or the review stops."
            )
        )
    if event.key_made_by:
        made_by = esc(event.key_made_by)
        key_words = (
            f"{made_by} made the key pair and the CSR, and keeps the private key; certdesk "
            "fetches the key and seals it when the certificate is issued."
        )
    else:
        key_words = (
            "The CSR is attached below. Your order's private key never leaves certdesk "
            "unless you ask for it."
        )
    value = str(event.order_id)
    buttons = [button("Details", ids.SHOW_STATUS, value)]
    if event.steps:
        buttons.insert(
            0, button("I've verified — check now", ids.CHECK_NOW, value, style="primary")
        )
    shown: list[Block] = [
        section(f":outbox_tray: *{ref}* was submitted to the CA for review.\n{what}"),
        *steps,
        *review,
        context(key_words),
        *(section(f":warning: {esc(note)}") for note in event.notes[:5]),
    ]
    return Notice(
        main=message(text, [*shown, ActionsBlock(elements=buttons)]),
        # Watchers get the records to publish too (no buttons); otherwise the plain line.
        watchers=message(WATCHING + text, shown if event.steps else ()),
        channel=message(f"{ref} was submitted to the CA for review."),
    )


@word.register
def _(event: events.PassedReview) -> Notice:
    where = f" (the CA emailed {', '.join(map(esc, event.mailboxes))})" if event.mailboxes else ""
    text = f"{event.ref} passed review and is waiting for domain verification{where}."
    return Notice(main=message(text), channel=message(text))


@word.register
def _(event: events.StateReached) -> Notice:
    text = f"{event.ref} is {workflow.describe(event.state)}."
    return Notice(main=message(text), channel=message(text))


@word.register
def _(event: events.Failed) -> Notice:
    ref, reason = event.ref, esc(event.reason)
    blocks = _revise(f":x: *{ref}* did not pass the CA's review.\n*Why:* {reason}", event.order_id)
    return _to_people(f"{ref} failed: {reason}", blocks, channel=f"{ref} failed review: {reason}")


@word.register
def _(event: events.CancelledAtCA) -> Notice:
    return _to_people(
        f"{event.ref} was cancelled at the CA; nothing more will happen to it.",
        channel=f"{event.ref} was cancelled at the CA.",
    )


@word.register
def _(event: events.Issued) -> Notice:
    ref, info, value = event.ref, event.info, str(event.order_id)
    names = ", ".join(f"`{esc(display_name(n))}`" for n in info.names[:20])
    subject, issuer = esc(info.subject), esc(info.issuer)
    if len(info.names) > 20:
        names += f" and {len(info.names) - 20} more"
    text = (
        f"{ref} is issued: {subject}, valid until {info.not_after:%Y-%m-%d %H:%M} UTC, "
        f"SHA-256 fingerprint {info.sha256_fingerprint}."
    )
    buttons = []
    if event.offer_key:
        buttons.append(button("Download private key", ids.DOWNLOAD_KEY, value, style="primary"))
    buttons += [button("Renew", ids.RENEW, value), button("Details", ids.SHOW_STATUS, value)]
    key_words = (
        "The private key stays sealed in certdesk until you ask for it with the button below."
        if event.offer_key
        else "Install it with the private key you made the CSR with."
    )
    blocks: list[Block] = [
        section(f":white_check_mark: *{ref}* is issued."),
        section(
            "\n".join(
                [
                    f"*Subject:* {subject}",
                    f"*Names:* {names}",
                    f"*Issuer:* {issuer}",
                    f"*Valid:* {info.not_before:%Y-%m-%d %H:%M} UTC → "
                    f"{info.not_after:%Y-%m-%d %H:%M} UTC",
                    f"*SHA-256 fingerprint:* `{info.sha256_fingerprint}`",
                ]
            )
        ),
        context(f"The full chain (certificate, then the CA's) is attached below. {key_words}"),
        ActionsBlock(elements=buttons),
    ]
    return _to_people(
        text, blocks, channel=f"{ref} was issued; valid until {info.not_after:%Y-%m-%d} UTC."
    )


@word.register
def _(event: events.Expired) -> Notice:
    ref, at = event.ref, event.not_after
    text = (
        f"{ref}'s certificate expired on {at:%Y-%m-%d %H:%M} UTC. "
        "Sites still using it show browser warnings; renew to get a new one."
    )
    blocks: list[Block] = [
        section(f":calendar: *{ref}*'s certificate expired on {at:%Y-%m-%d %H:%M} UTC."),
        section(
            "Sites still serving it now show browser warnings. *Renew* starts a new order "
            "with this one's information filled in."
        ),
        ActionsBlock(
            elements=[
                button("Renew", ids.RENEW, str(event.order_id), style="primary"),
                button("Details", ids.SHOW_STATUS, str(event.order_id)),
            ]
        ),
    ]
    return _to_people(
        text, blocks, channel=f"{ref}'s certificate expired on {at:%Y-%m-%d %H:%M} UTC."
    )


@word.register
def _(event: events.Cancelled) -> Notice:
    who = "you" if event.actor == event.owner else f"<@{event.actor}>"
    where = " and withdrawn at the CA" if event.at_ca else ""
    return Notice(
        main=message(
            f"Order {event.ref} was cancelled by {who}{where}. Nothing more will happen to it."
        ),
        watchers=message(f"{WATCHING}Order {event.ref} was cancelled by <@{event.actor}>{where}."),
        channel=message(f"{event.ref} was cancelled by <@{event.actor}>."),
    )


@word.register
def _(event: events.CancelDone) -> Notice:
    where = " and withdrawn at the CA" if event.at_ca else ""
    return Notice(
        main=message(f"Done: order {event.ref} is cancelled{where}; <@{event.owner}> was told.")
    )


@word.register
def _(event: events.Revoked) -> Notice:
    who = "you" if event.actor == event.owner else f"<@{event.actor}>"
    return Notice(
        main=message(
            f"The certificate of {event.ref} was revoked by {who} ({event.why}). Browsers will "
            "stop trusting it; replace it wherever it is installed."
        ),
        watchers=message(
            f"{WATCHING}The certificate of {event.ref} was revoked by <@{event.actor}> "
            f"({event.why})."
        ),
        channel=message(
            f"{event.ref}'s certificate was revoked by <@{event.actor}> ({event.why})."
        ),
    )


@word.register
def _(event: events.RevokeDone) -> Notice:
    return Notice(main=message(f"Done: {event.ref} is revoked; <@{event.owner}> was told."))


@word.register
def _(event: events.WatcherAdded) -> Notice:
    by = "" if event.actor == event.owner else f" on behalf of <@{event.owner}>"
    return Notice(
        main=message(
            f":eyes: <@{event.actor}> added you as a watcher of order *{event.ref}*{by}. You'll "
            f"get its updates here and can see it with `/cert status {event.ref}`; only its "
            "owner can change it."
        )
    )


@word.register
def _(event: events.WatcherRemoved) -> Notice:
    return Notice(
        main=message(
            f"<@{event.actor}> removed you from the watchers of order *{event.ref}*; "
            "you won't get its updates any more."
        )
    )


@word.register
def _(event: events.KeyDelivered) -> Notice:
    text, blocks = keys.key_delivered_message(
        ref=event.ref,
        order_id=event.order_id,
        file_row=event.file_row,
        filename=event.filename,
        delete_after=event.delete_after,
        fmt=event.fmt,
    )
    return Notice(main=message(text, blocks))


@word.register
def _(event: events.VerificationReminder) -> Notice:
    return Notice(main=message(*verification.verification_reminder(event)))


@word.register
def _(event: events.Escalation) -> Notice:
    return Notice(main=message(*verification.escalation(event)))


@word.register
def _(event: events.ExpiryReminder) -> Notice:
    return Notice(main=message(*verification.expiry_reminder(event)))


@word.register
def _(event: events.ReminderOutdated) -> Notice:
    text, blocks = verification.out_of_date(event.ref, event.state_words)
    return Notice(main=message(text, blocks))


@word.register
def _(event: events.CheckedNow) -> Notice:
    ref, state = event.ref, event.state
    if not event.asked:
        text = f"{ref} is {workflow.describe(state)}, so there is nothing to check."
    elif state == workflow.State.AWAITING_VERIFICATION:
        text = (
            f"I asked the CA: {ref} is still waiting for domain verification. Follow the link in "
            "the CA's email (or publish what the reminder shows), then press check now again."
        )
    else:
        text = f"I asked the CA: {ref} is now {workflow.describe(state)}."
    return Notice(main=message(text))


@word.register
def _(event: events.VerificationResent) -> Notice:
    if event.mailbox is None:
        text = (
            f"{event.ref} is {workflow.describe(event.state)}: there is no verification to resend."
        )
    else:
        text = (
            f"The CA sent a fresh verification email for {event.ref} to "
            f"{esc(event.mailbox) or 'the applicant mailbox'}. Use the link in the newest email: "
            "the older one no longer works."
        )
    return Notice(main=message(text))


@word.register
def _(event: events.Snoozed) -> Notice:
    if event.until is None:
        return Notice(main=message(f"You have no reminders about {event.ref} waiting to be sent."))
    return Notice(
        main=message(
            f"Snoozed: your next reminder about {event.ref} comes "
            f"{verification.when(event.until)} at the earliest."
        )
    )


@word.register
def _(event: events.ApprovalAsked) -> Notice:
    text = f"{event.ref} needs your approval before it goes to the CA."
    return Notice(main=message(text, approvals.request_blocks(event)))


@word.register
def _(event: events.AwaitingApproval) -> Notice:
    who = ", ".join(f"<@{a}>" for a in event.approvers[:10]) or "an admin"
    text = (
        f"{event.ref} waits for approval by {who} before it goes to the CA. You'll hear as soon "
        "as someone decides; editing it now withdraws the request."
    )
    blocks = [
        section(f":raised_hand: *{event.ref}* waits for approval by {who}."),
        context(
            "It goes to the CA as soon as one of them approves. Editing it now withdraws the "
            "request, and the revised order is approved again."
        ),
        ActionsBlock(elements=[button("Details", ids.SHOW_STATUS, str(event.order_id))]),
    ]
    return _to_people(text, blocks, channel=f"{event.ref} waits for approval.")


@word.register
def _(event: events.ApprovalDecided) -> Notice:
    blocks = approvals.decided_blocks(event)
    text = f"{event.ref} was {event.decision} by <@{event.by}>."
    return Notice(main=message(text, blocks))


@word.register
def _(event: events.Approved) -> Notice:
    how = " (an admin, in the approvers' place)" if event.override else ""
    text = f"{event.ref} was approved by <@{event.by}>{how} and goes to the CA now."
    return _to_people(
        text,
        [section(f":white_check_mark: {text}")],
        channel=f"{event.ref} was approved by <@{event.by}>{how}.",
    )


@word.register
def _(event: events.Rejected) -> Notice:
    ref, reason = event.ref, esc(event.reason)
    blocks = _revise(
        f":x: *{ref}* was not approved by <@{event.by}>.\n*Why:* {reason}", event.order_id
    )
    return _to_people(
        f"{ref} was not approved: {reason}",
        blocks,
        channel=f"{ref} was not approved by <@{event.by}>.",
    )


@word.register
def _(event: events.ApprovalReminder) -> Notice:
    waited = verification.duration_words(event.waited)
    text = (
        f"Reminder {event.number}: {event.ref} from <@{event.requester}> has waited {waited} "
        "for your approval."
    )
    blocks: list[Block] = [
        section(f":bell: {text}"),
        context("The application is in the request above; approve or reject it here."),
        approvals.approval_buttons(event.order_id, block_id=f"approval_reminder_{event.order_id}"),
    ]
    return Notice(main=message(text, blocks))


@word.register
def _(event: events.ApprovalEscalation) -> Notice:
    waited = verification.duration_words(event.waited)
    asked = ", ".join(f"<@{a}>" for a in event.approvers[:10]) or "nobody (no approvers)"
    text = (
        f"{event.ref} from <@{event.requester}> has waited {waited} for approval and nobody "
        f"has decided. Asked: {asked}."
    )
    return Notice(
        main=message(
            text,
            [
                section(f":rotating_light: {text}"),
                context("`/cert approvals` lists what waits; an admin can decide in their place."),
            ],
        )
    )


@word.register
def _(event: events.NotifyChannelRefused) -> Notice:
    text = (
        f"certdesk cannot post to the notify channel <#{event.channel}> (Slack says "
        f"`{esc(event.error)}`). Invite the certdesk app to it (`/invite @certdesk` in the "
        "channel) or change CERTDESK_NOTIFY_CHANNEL. Requesters still get every DM and file; "
        "only the channel's copies are missing. You are told this once."
    )
    return Notice(main=message(text, [section(f":warning: {text}")]))
