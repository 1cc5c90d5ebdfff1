"""Approval before the CA: asking the approvers, their decision (the first one wins), and what
follows it (sent to the CA, or back to the requester with the reason)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot import approvals, events, reminders, teams, workflow
from bot.approval_form import MAX_REASON, REASON
from bot.approvals import Role
from bot.csr_method import CSRMethod
from bot.errors import AlreadyDecided, FieldErrors, NotAllowed, NotFound, SlackError
from bot.orders import transitions
from bot.orders.announcements import announce
from bot.orders.sender import APPROVAL_ASKED, REQUEST_ID
from bot.orders.submission import send_to_ca
from bot.orders.telling import owe_each, owe_people, refresh_homes
from bot.products import needs_organization
from bot.services import Services
from storage import approvals as requests
from storage import deliveries, queries, reminder_slots
from storage.models import ApprovalRequest, Order, format_ref, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """What an approver (or an admin, overriding) decided about an order."""

    order_id: int
    ref: str
    request_id: int
    decision: str
    by: str
    reason: str | None
    override: bool


def application_of(order: Order) -> events.Application:
    """The order's application exactly as it would go to the CA, with its digest."""
    org = order.organization if needs_organization(order.product) else None
    facts = {
        "product": order.product,
        "domains": [d.name for d in order.domains],
        "applicant": [order.applicant.name, order.applicant.email, order.applicant.phone]
        if order.applicant
        else None,
        "organization": [
            org.legal_name,
            org.country,
            org.state,
            org.city,
            org.street,
            org.postal_code,
            org.phone,
        ]
        if org
        else None,
        "csr_method": order.csr_method,
        "key_algorithm": order.key_algorithm,
        "csr": order.csr_pem if order.csr_method == CSRMethod.UPLOADED else None,
    }
    return events.Application(
        product=order.product,
        domains=[d.display for d in order.domains],
        applicant_name=order.applicant.name if order.applicant else "",
        applicant_email=order.applicant.email if order.applicant else "",
        applicant_phone=order.applicant.phone if order.applicant else "",
        organization=org.details() if org else None,
        csr_method=order.csr_method or "",
        key_algorithm=order.key_algorithm,
        digest=approvals.digest(facts),
    )


def approvers_for(services: Services, requester: str) -> tuple[str, ...]:
    """Who is asked: CERTDESK_APPROVERS (user groups expanded), or the admins without them;
    never the requester."""
    configured = services.approvers() or services.admins()
    people: set[str] = set()
    for entry in configured:
        if not entry.startswith("S"):
            people.add(entry)
            continue
        try:
            people.update(services.notifier.group_members(entry))
        except SlackError as exc:
            logger.error("could not read the members of user group %s: %s", entry, exc)
    people.discard(requester)
    return tuple(sorted(people))


def ask(
    session: Session,
    services: Services,
    order: Order,
    *,
    user_id: str,
    approvers: Sequence[str],
) -> None:
    """Inside the submitting transaction: open a request, move the order to wait for it, owe
    each approver the request DM (sent after the ack) and plan the approvers' reminders."""
    now = utcnow()
    application = application_of(order)
    request = ApprovalRequest(
        order_id=order.id,
        requested_by=user_id,
        digest=application.digest,
        approvers=list(approvers),
    )
    session.add(request)
    session.flush()
    transitions.apply(
        session,
        order,
        workflow.Event.REQUEST_APPROVAL,
        actor=user_id,
        now=now,
        action="approval_requested",
        request=request.id,
        digest=request.digest,
        approvers=request.approvers,
    )
    waiting = events.AwaitingApproval(ref=order.ref, order_id=order.id, approvers=list(approvers))
    owe_people(session, services, order, waiting, now=now)
    asked = events.ApprovalAsked(
        ref=order.ref,
        order_id=order.id,
        requester=order.requester_id,
        application=application,
    )
    # An earlier request's DMs Slack has not taken yet ask about what is no longer asked.
    deliveries.drop_pending(session, order.id, what=APPROVAL_ASKED, why="no longer wanted")
    # The sender drops a DM if this request is decided or replaced before it goes out.
    owe_each(session, services, order, approvers, asked, now=now, about={REQUEST_ID: request.id})
    schedule = services.settings.reminder_schedule
    reminder_slots.start_approval(
        session,
        order,
        approvers=approvers,
        first_due=reminders.reminder_due(step=0, started=now, schedule=schedule),
        now=now,
    )


def ask_approvers(services: Services, order_id: int) -> None:
    """After the ack: send what ``ask`` owed (each approver's request with its buttons, the
    requester's "waiting for approval") and refresh the approvers' Homes."""
    announce(services, order_id)
    with services.sessions.begin() as session:
        request = requests.open_request(session, order_id)
        approvers = list(request.approvers) if request is not None else []
    refresh_homes(services, approvers)


def check_may_decide(
    services: Services, order_id: int, *, user_id: str, seen: str | None = None
) -> Role:
    """How ``user_id`` may decide on the order's open request; raise if they may not, or if
    ``seen`` (the digest the clicked message showed) is not the application asked about."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        if order is not None and teams.current() not in (None, order.team_id):
            raise NotFound(f"There is no order {format_ref(order_id)}.")  # another workspace's
        request = requests.open_request(session, order_id) if order else None
        if order is None or request is None or order.state != workflow.State.AWAITING_APPROVAL:
            raise AlreadyDecided(_late(session, order_id))
        _require_seen(order.ref, request, seen)
        role = approvals.role_of(
            user_id,
            requester=order.requester_id,
            approvers=request.approvers or [],
            admins=services.admins(order.team_id),
        )
        if role is Role.NONE:
            if user_id == order.requester_id:
                raise NotAllowed(
                    f"{order.ref} is your own order: someone else must approve it before it "
                    "goes to the CA."
                )
            raise NotAllowed(f"You are not one of the approvers of {order.ref}.")
        return role


def approve(
    services: Services,
    order_id: int,
    *,
    user_id: str,
    reason: str | None = None,
    seen: str | None = None,
) -> Decision:
    """Approve the order (an admin overriding must give ``reason``); the first decision wins.
    ``seen``: the application digest the approver's message showed, if it showed one."""
    return _decide(services, order_id, user_id=user_id, approved=True, reason=reason, seen=seen)


def reject(
    services: Services, order_id: int, *, user_id: str, reason: str, seen: str | None = None
) -> Decision:
    """Turn the application down with ``reason`` (required); the first decision wins."""
    return _decide(services, order_id, user_id=user_id, approved=False, reason=reason, seen=seen)


def _require_seen(ref: str, request: ApprovalRequest, seen: str | None) -> None:
    if seen is not None and not request.digest.startswith(seen):
        raise AlreadyDecided(
            f"{ref} changed after that request was sent: it no longer shows the application "
            "asked about. Decide from the newest request (or `/cert approvals`)."
        )


def _decide(
    services: Services,
    order_id: int,
    *,
    user_id: str,
    approved: bool,
    reason: str | None,
    seen: str | None,
) -> Decision:
    role = check_may_decide(services, order_id, user_id=user_id, seen=seen)
    reason = (reason or "").strip()[:MAX_REASON] or None
    if (role is Role.OVERRIDE or not approved) and not reason:
        what = "Say why you approve in the approvers' place" if approved else "Say why"
        raise FieldErrors({REASON: f"{what}: the requester and the audit trail see it."})
    now = utcnow()
    with services.sessions.begin() as session:
        # check_may_decide authorised the user; approvers may decide on orders they don't own.
        order = queries.get_order(session, order_id, for_update=True)
        request = requests.open_request(session, order_id)
        decision = "approved" if approved else "rejected"
        override = role is Role.OVERRIDE
        if order is None or request is None or order.state != workflow.State.AWAITING_APPROVAL:
            raise AlreadyDecided(_late(session, order_id))
        _require_seen(order.ref, request, seen)  # the application may have changed since
        if not requests.decide(
            session, request.id, decision=decision, by=user_id, at=now, reason=reason,
            override=override,
        ):  # fmt: skip
            raise AlreadyDecided(_late(session, order_id))
        if not approved:
            order.failure_reason = f"Not approved: {reason}"
        transitions.apply(
            session,
            order,
            workflow.Event.APPROVE if approved else workflow.Event.REJECT,
            actor=user_id,
            now=now,
            action=decision,
            request=request.id,
            digest=request.digest,
            reason=reason,
            override=override,
        )
        # Owed with the decision: a rejection like a failure, an approval as its own DM.
        told: object = (
            events.Approved(ref=order.ref, order_id=order_id, by=user_id, override=override)
            if approved
            else events.Rejected(ref=order.ref, order_id=order_id, by=user_id, reason=reason or "")
        )
        owe_people(session, services, order, told, now=now)
        return Decision(order_id, order.ref, request.id, decision, user_id, reason, override)


def after_decision(services: Services, decision: Decision) -> None:
    """After the ack: update every approver's message, tell the requester, go on to the CA.

    The decision's DMs were owed with it: sent now, or by the sweep if Slack fails, and an
    approved order goes to the CA either way.
    """
    _close_messages(services, decision)
    announce(services, decision.order_id)
    if decision.decision == "approved":
        send_to_ca(services, decision.order_id)


def end_request(session: Session, order_id: int, *, decision: str, by: str) -> int | None:
    """End the order's open request without an approver's decision (withdrawn by an edit,
    cancelled with the order); return its id, or None if none was open."""
    request = requests.open_request(session, order_id)
    if request is None or not requests.decide(
        session, request.id, decision=decision, by=by, at=utcnow()
    ):
        return None
    return request.id


def withdraw(session: Session, order: Order, *, user_id: str) -> int | None:
    """Inside an edit's transaction: end the open request (the application is changing)."""
    request_id = end_request(session, order.id, decision="withdrawn", by=user_id)
    if request_id is None:
        return None
    now = utcnow()
    transitions.apply(
        session,
        order,
        workflow.Event.WITHDRAW,
        actor=user_id,
        now=now,
        action="approval_withdrawn",
        request=request_id,
    )
    return request_id


def close_ended(
    services: Services, order_id: int, request_id: int, *, by: str, decision: str = "withdrawn"
) -> None:
    """After a request ended without a decision: the approvers' messages say so."""
    _close_messages(
        services,
        Decision(order_id, format_ref(order_id), request_id, decision, by, None, False),
    )


def waiting_for(services: Services, *, user_id: str) -> list[tuple[int, str, datetime]]:
    """Orders waiting for ``user_id``'s decision (every waiting order, for admins), oldest
    first: (order id, requester, asked at)."""
    admin = services.is_admin(user_id)
    with services.sessions.begin() as session:
        return requests.waiting_for(
            session, user_id=user_id, everyone=admin, team_id=teams.current()
        )


def _close_messages(services: Services, decision: Decision) -> None:
    event = events.ApprovalDecided(
        ref=decision.ref,
        decision=decision.decision,
        by=decision.by,
        at=utcnow(),
        reason=decision.reason,
        override=decision.override,
    )
    message = services.presenter.notice(event).main
    with services.sessions.begin() as session:
        where = [(m.channel_id, m.ts, m.approver_id) for m in requests.messages_of(
            session, decision.request_id
        )]  # fmt: skip
    for channel, ts, approver in where:
        try:
            services.notifier.update(channel, ts, message)
        except SlackError as exc:
            logger.warning("could not update %s's approval message: %s", approver, exc.code or exc)
    refresh_homes(services, [approver for _, _, approver in where])


def _late(session: Session, order_id: int) -> str:
    """The plain answer to a click on a request someone already decided (or that ended)."""
    ref = format_ref(order_id)
    latest = requests.latest_request(session, order_id)
    if latest is None or latest.decided_at is None:
        return f"{ref} is not waiting for approval."
    return (
        f"{ref} was already {latest.decision or 'decided'} by <@{latest.decided_by}> on "
        f"{latest.decided_at:%Y-%m-%d %H:%M} UTC; nothing more to decide."
    )
