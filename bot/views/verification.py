"""Reminder DMs: verify the domains (mailbox, DNS record or file), escalations and expiry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, Block

from bot import events
from bot.ca.base import Validation
from bot.views import ids
from bot.views.common import button, context, esc, names_words, section


@dataclass(frozen=True)
class EmailHint:
    """What the CA's verification email looks like, so people can find it."""

    sender: str
    subject: str


def when(at: datetime, *, fmt: str = "{date_short_pretty} at {time}") -> str:
    """A time Slack shows in each reader's own time zone (with a UTC fallback)."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{fmt}|{fallback}>"


def duration_words(span: timedelta) -> str:
    """“3 days”, “5 hours”, “20 minutes”."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _email_lines(boxes: Sequence[str], hint: EmailHint | None, domains: Sequence[str]) -> str:
    where = _mailboxes(boxes, bold=True)
    lines = [f":email: The CA emailed {where} to confirm you control {_names(domains)}."]
    if hint:
        lines.append(
            f"Look for an email from `{esc(hint.sender)}` with the subject “{esc(hint.subject)}”."
        )
    else:
        lines.append("Look for an email from your CA whose subject names these domains.")
    lines.append(
        "Open it and *follow the link* in it — until someone does, the order stays under review."
    )
    return "\n".join(lines)


def _mailboxes(boxes: Sequence[str], *, bold: bool = False) -> str:
    """The first few mailboxes (an order of 250 names may have as many): a message's text
    holds 40,000 characters and a section 3,000."""
    mark = "*" if bold else ""
    shown = ", ".join(f"{mark}{esc(b)}{mark}" for b in boxes[:5])
    return shown + (f" and {len(boxes) - 5} more mailboxes" if len(boxes) > 5 else "")


def _names(domains: Sequence[str]) -> str:
    return names_words(domains, len(domains)) if domains else "the domains"


def record_lines(validation: Validation) -> str:
    """Exactly what to publish for one domain: the DNS record, or the file's URL and content."""
    domain = esc(validation.domain)
    if validation.method == "dns-01":
        record = (
            f"{esc(validation.record_name)}  {esc(validation.record_type or 'TXT')}  "
            f'"{esc(validation.record_value)}"'
        )
        return f"*{domain}* — publish this DNS record:\n```{record}```"
    return (
        f"*{domain}* — serve this file over plain HTTP:\n"
        f"URL: ```{esc(validation.url)}```\n"
        f"Content (exactly, no newline): ```{esc(validation.content)}```"
    )


def verification_reminder(event: events.VerificationReminder) -> tuple[str, list[Block]]:
    """The reminder DM: what to do to verify the domains, when the window closes, and buttons."""
    ref, order_id, number, mailbox = event.ref, event.order_id, event.number, event.mailbox
    validations, domains, window_end, can_act = (
        event.validations,
        event.domains,
        event.window_end,
        event.can_act,
    )
    hint = (
        EmailHint(event.email_sender, event.email_subject)
        if event.email_sender and event.email_subject
        else None
    )
    pending = [v for v in validations if not v.done]
    email = [v for v in pending if v.method == "email"]
    acme = [v for v in pending if v.method in ("dns-01", "http-01")]
    boxes = sorted({v.mailbox for v in email if v.mailbox}) or (
        [mailbox] if mailbox and not acme else []
    )
    blocks: list[Block] = [
        section(f":bell: *{ref}* is waiting for domain verification — reminder {number}.")
    ]
    if boxes:
        email_domains = [v.domain for v in email] or list(domains)
        blocks.append(section(_email_lines(boxes, hint, email_domains)))
    for validation in acme[:20]:  # 50 blocks a message; twenty domains is plenty to show
        blocks.append(section(record_lines(validation)))
    if acme:
        blocks.append(section("When it is published, press *I've verified — check now*."))
    blocks.append(context(f"The verification window for {ref} closes {when(window_end)}."))
    buttons = [button("Snooze 1 day", ids.SNOOZE, str(order_id))]
    if can_act:
        buttons[:0] = [
            button("I've verified — check now", ids.CHECK_NOW, str(order_id), style="primary")
        ]
        if boxes:  # ACME sends no email: nothing to resend
            buttons.insert(
                1, button("Resend verification email", ids.RESEND_VERIFICATION, str(order_id))
            )
    blocks.append(ActionsBlock(elements=buttons))
    what = (
        f"check {_mailboxes(boxes)} and follow the CA's link"
        if boxes
        else "publish the record shown"
    )
    text = f"Reminder {number}: {ref} is waiting for domain verification — {what}."
    return text, blocks


def escalation(event: events.Escalation) -> tuple[str, list[Block]]:
    """Told once to admins and the notify channel when nobody verified in time (no secrets)."""
    ref, order_id, requester, waited = event.ref, event.order_id, event.requester, event.waited
    mailboxes, with_buttons = event.mailboxes, event.with_buttons
    where = f" The CA emailed {_mailboxes(mailboxes)}." if mailboxes else ""
    text = (
        f"{ref} has waited {duration_words(waited)} for domain verification and nobody has "
        f"verified it yet.{where} Requester: <@{requester}>."
    )
    blocks: list[Block] = [
        section(f":rotating_light: {text}"),
        context("Ask the requester or whoever reads that mailbox to follow the CA's link."),
    ]
    if with_buttons:
        blocks.append(
            ActionsBlock(
                elements=[
                    button("Check now", ids.CHECK_NOW, str(order_id)),
                    button("Resend verification email", ids.RESEND_VERIFICATION, str(order_id)),
                ]
            )
        )
    return text, blocks


def expiry_reminder(event: events.ExpiryReminder) -> tuple[str, list[Block]]:
    """An expiry reminder with a Renew button for the requester."""
    ref, order_id, days, not_after = event.ref, event.order_id, event.days, event.not_after
    domains, can_renew = event.domains, event.can_renew
    left = "tomorrow" if days == 1 else f"in {days} days"
    names = ", ".join(esc(d) for d in domains[:3]) or "your domains"
    text = f"{ref}: the certificate for {names} expires {left}."
    blocks: list[Block] = [
        section(
            f":hourglass: *{ref}* — the certificate for {_names(domains)} expires {left}, "
            f"{when(not_after)}. Renew it before then so nothing stops working."
        )
    ]
    if can_renew:
        blocks.append(
            ActionsBlock(elements=[button("Renew", ids.RENEW, str(order_id), style="primary")])
        )
    return text, blocks


def out_of_date(ref: str, state_words: str) -> tuple[str, list[Block]]:
    """What a reminder becomes when the order moved on while it was being sent."""
    text = f"This reminder about {ref} is out of date: the order is now {state_words}."
    return text, [section(f":white_check_mark: {text}")]
