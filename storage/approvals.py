"""Approval requests and the approvers' messages (never commits: the caller owns the session)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from bot import workflow
from storage.models import ApprovalMessage, ApprovalRequest, Order


def open_request(session: Session, order_id: int) -> ApprovalRequest | None:
    """The order's undecided approval request, if it waits for one."""
    return session.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.order_id == order_id, ApprovalRequest.decided_at.is_(None))
        .order_by(ApprovalRequest.id.desc())
        .limit(1)
    ).first()


def latest_request(session: Session, order_id: int) -> ApprovalRequest | None:
    """The order's newest approval request, decided or not."""
    return session.scalars(
        select(ApprovalRequest)
        .where(ApprovalRequest.order_id == order_id)
        .order_by(ApprovalRequest.id.desc())
        .limit(1)
    ).first()


def decide(
    session: Session,
    request_id: int,
    *,
    decision: str,
    by: str,
    at: datetime,
    reason: str | None = None,
    override: bool = False,
) -> bool:
    """Record the decision if nobody decided first (compare-and-set); True if this one won."""
    won = session.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == request_id, ApprovalRequest.decided_at.is_(None))
        .values(decided_at=at, decided_by=by, decision=decision, reason=reason, override=override)
        .execution_options(synchronize_session=False)
    )
    return bool(won.rowcount)  # type: ignore[attr-defined]


def remember_message(
    session: Session, request_id: int, *, approver_id: str, channel_id: str, ts: str
) -> None:
    """Keep where an approver's request DM is, so it can be updated after the decision."""
    session.add(
        ApprovalMessage(
            request_id=request_id, approver_id=approver_id, channel_id=channel_id, ts=ts
        )
    )


def messages_of(session: Session, request_id: int) -> Sequence[ApprovalMessage]:
    """Every approver's DM about a request."""
    return session.scalars(
        select(ApprovalMessage).where(ApprovalMessage.request_id == request_id)
    ).all()


def undecided(teams: Sequence[str] | None = None) -> Select[ApprovalRequest]:
    """Undecided requests whose order still waits for approval (of ``teams`` only, if given),
    oldest first."""
    stmt = (
        select(ApprovalRequest)
        .join(Order, Order.id == ApprovalRequest.order_id)
        .where(
            ApprovalRequest.decided_at.is_(None), Order.state == workflow.State.AWAITING_APPROVAL
        )
        .order_by(ApprovalRequest.requested_at, ApprovalRequest.id)
    )
    return stmt if teams is None else stmt.where(Order.team_id.in_(list(teams)))


def waiting_for(
    session: Session, *, user_id: str, everyone: bool, team_id: str | None = None
) -> list[tuple[int, str, datetime]]:
    """Undecided requests ``user_id`` may decide (``everyone``: all of them, for admins), of
    ``team_id``'s orders only if given, oldest first: (order id, requester, asked at).

    One query of a few columns: who may decide is a JSON list, so the open requests are read
    and filtered here (a queue, not the history), and no order is loaded whole.
    """
    query = undecided(None if team_id is None else [team_id]).with_only_columns(
        ApprovalRequest.order_id,
        Order.requester_id,
        ApprovalRequest.requested_at,
        ApprovalRequest.approvers,
    )
    return [
        (order_id, requester_id, asked)
        for order_id, requester_id, asked, approvers in session.execute(query)
        if everyone or may_decide(approvers, user_id)
    ]


def may_decide(approvers: Sequence[str] | None, user_id: str) -> bool:
    """Whether ``user_id`` is one of a request's ``approvers`` (admins may decide any)."""
    return user_id in (approvers or [])
