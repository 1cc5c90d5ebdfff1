"""What a reminder says: the order, what the CA needs (asked at send time), and who may act."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot import events
from bot.ca.base import CABackend, CAState, Validation
from bot.errors import CAError
from bot.services import Services
from storage import approvals as approval_requests
from storage import reminder_queries
from storage import reminder_slots as slots
from storage.models import Order
from storage.reminder_claims import Claim

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CAView:
    """What the CA said about an order during this sweep (None fields: it could not be asked)."""

    state: CAState | None
    validations: tuple[Validation, ...]


def ca_view(ca: CABackend, statuses: dict[int, CAView], order: Order) -> CAView:
    """The CA's status for the order, asked once per sweep (``statuses`` remembers it).

    Asked at send time rather than stored when polling: the reminder then shows what is
    still missing right now (domains already verified drop out, ACME values are current).
    """
    if order.id in statuses:
        return statuses[order.id]
    view = CAView(None, ())
    if order.ca_ref:
        try:
            status = ca.status(order.ca_ref)
            view = CAView(status.state, status.validations)
        except CAError as exc:
            logger.warning("CA status for reminder of order %s unavailable: %s", order.id, exc)
    statuses[order.id] = view
    return view


def reminder_event(
    services: Services,
    statuses: dict[int, CAView],
    claim: Claim,
    order: Order,
    *,
    now: datetime,
) -> object:
    """The event one slot announces (``bot.events``), with what the CA needs right now."""
    mailbox = order.applicant.email if order.applicant else None
    domains = [d.display for d in order.domains]
    can_act = services.may_act(order, claim.recipient_id)
    if claim.kind == slots.EXPIRY:
        assert order.not_after is not None
        return events.ExpiryReminder(
            ref=order.ref,
            order_id=order.id,
            days=claim.step,
            not_after=order.not_after,
            domains=domains,
            can_renew=can_act,
        )
    if claim.kind in (slots.APPROVAL, slots.APPROVAL_ESCALATION):
        return _approval_event(services, claim, order, now=now)
    ca = ca_view(services.ca, statuses, order)
    started = order.verification_started_at or now
    if claim.kind == slots.ESCALATION:
        boxes = sorted({v.mailbox for v in ca.validations if v.mailbox}) or (
            [mailbox] if mailbox else []
        )
        return events.Escalation(
            ref=order.ref,
            order_id=order.id,
            requester=order.requester_id,
            waited=now - started,
            mailboxes=boxes,
            with_buttons=not claim.recipient_id.startswith(slots.CHANNEL),
        )
    email = (
        services.ca.verification_email(order.ca_ref, [d.name for d in order.domains])
        if order.ca_ref
        else None
    )
    with services.sessions.begin() as session:
        sent = reminder_queries.sent_count(
            session, claim.order_id, kind=claim.kind, recipient=claim.recipient_id
        )
    return events.VerificationReminder(
        ref=order.ref,
        order_id=order.id,
        number=sent + 1,
        validations=ca.validations,
        mailbox=mailbox,
        domains=domains,
        email_sender=email.sender if email else None,
        email_subject=email.subject if email else None,
        window_end=started + services.settings.verification_window,
        can_act=can_act,
    )


def _approval_event(services: Services, claim: Claim, order: Order, *, now: datetime) -> object:
    waited = now - (order.submitted_at or now)
    if claim.kind == slots.APPROVAL_ESCALATION:
        with services.sessions.begin() as session:
            request = approval_requests.open_request(session, order.id)
            approvers = list(request.approvers) if request else []
        return events.ApprovalEscalation(
            ref=order.ref,
            order_id=order.id,
            requester=order.requester_id,
            waited=waited,
            approvers=approvers,
        )
    with services.sessions.begin() as session:
        sent = reminder_queries.sent_count(
            session, claim.order_id, kind=claim.kind, recipient=claim.recipient_id
        )
    return events.ApprovalReminder(
        ref=order.ref,
        order_id=order.id,
        requester=order.requester_id,
        waited=waited,
        number=sent + 1,
    )
