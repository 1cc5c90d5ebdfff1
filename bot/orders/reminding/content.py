"""What a reminder says: the order, what the CA needs (asked at send time), and who may act."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk.models.blocks import Block
from sqlalchemy import func, select

from bot.ca.base import CABackend, CAState, Validation
from bot.errors import CAError
from bot.orders.reminding import slots
from bot.orders.reminding.claims import Claim
from bot.views import verification as views
from storage.models import Order, Reminder

if TYPE_CHECKING:
    from bot.orders.reminding.sender import Sweep

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CAView:
    """What the CA said about an order during this sweep (None fields: it could not be asked)."""

    state: CAState | None
    validations: tuple[Validation, ...]


def ca_view(sweep: Sweep, order: Order) -> CAView:
    """The CA's status for the order, asked once per sweep; the stored mailbox if it fails.

    Asked at send time rather than stored when polling: the reminder then shows what is
    still missing right now (domains already verified drop out, ACME values are current).
    """
    if order.id in sweep.statuses:
        return sweep.statuses[order.id]
    view = CAView(None, ())
    if order.ca_ref:
        try:
            status = sweep.services.ca.status(order.ca_ref)
            view = CAView(status.state, status.validations)
        except CAError as exc:
            logger.warning("CA status for reminder of order %s unavailable: %s", order.id, exc)
    sweep.statuses[order.id] = view
    return view


def email_hint(ca: CABackend, order: Order) -> views.EmailHint | None:
    """The sender and subject of the CA's verification email, for CAs certdesk knows."""
    if ca.name == "simulated" and order.ca_ref:
        from bot.ca.simulated import mailer

        names = [d.name for d in order.domains]
        return views.EmailHint(mailer.SENDER, mailer.subject_for(names, ca_ref=order.ca_ref))
    return None


def _number(sweep: Sweep, claim: Claim) -> int:
    """Which reminder this is for the recipient in this round (1 for the first)."""
    with sweep.services.sessions.begin() as session:
        sent = session.scalar(
            select(func.count(Reminder.id)).where(
                Reminder.order_id == claim.order_id,
                Reminder.kind == claim.kind,
                Reminder.recipient_id == claim.recipient_id,
                Reminder.sent_at.is_not(None),
            )
        )
    return int(sent or 0) + 1


def render(sweep: Sweep, claim: Claim, order: Order) -> tuple[str, list[Block]]:
    """The text and blocks for one slot."""
    services = sweep.services
    mailbox = order.applicant.email if order.applicant else None
    domains = [d.display for d in order.domains]
    can_act = claim.recipient_id == order.requester_id or services.is_admin(claim.recipient_id)
    if claim.kind == slots.EXPIRY:
        assert order.not_after is not None
        return views.expiry_reminder(
            ref=order.ref,
            order_id=order.id,
            days=claim.step,
            not_after=order.not_after,
            domains=domains,
            can_renew=can_act,
        )
    ca = ca_view(sweep, order)
    if claim.kind == slots.ESCALATION:
        boxes = sorted({v.mailbox for v in ca.validations if v.mailbox}) or (
            [mailbox] if mailbox else []
        )
        started = order.verification_started_at or sweep.now()
        return views.escalation(
            ref=order.ref,
            order_id=order.id,
            requester=order.requester_id,
            waited=sweep.now() - started,
            mailboxes=boxes,
            with_buttons=not claim.recipient_id.startswith(slots.CHANNEL),
        )
    started = order.verification_started_at or sweep.now()
    return views.verification_reminder(
        ref=order.ref,
        order_id=order.id,
        number=_number(sweep, claim),
        validations=ca.validations,
        mailbox=mailbox,
        domains=domains,
        hint=email_hint(services.ca, order),
        window_end=started + services.settings.verification_window,
        can_act=can_act,
    )
