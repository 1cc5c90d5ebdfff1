"""Queries used by the service layer. They never commit: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from storage.models import (
    AuditEvent,
    DeliveredFile,
    Order,
    Organization,
    ProcessedEvent,
    utcnow,
)

#: What get_order loads with an order (and any read that hands out whole orders likewise).
ORDER_DETAILS = (
    selectinload(Order.domains),
    selectinload(Order.applicant),
    selectinload(Order.watchers),
    selectinload(Order.organization),
)


def get_order(session: Session, order_id: int, *, for_update: bool = False) -> Order | None:
    """One order with its domains, applicant and watchers loaded."""
    stmt = select(Order).where(Order.id == order_id).options(*ORDER_DETAILS)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def organizations_of(session: Session, team_id: str) -> Sequence[Organization]:
    """Saved organizations of a workspace, by name."""
    stmt = select(Organization).where(Organization.team_id == team_id)
    return session.scalars(stmt.order_by(Organization.legal_name)).all()


def record(
    session: Session, *, order_id: int | None, actor: str, action: str, **detail: Any
) -> AuditEvent:
    """Add an audit event to the session."""
    event = AuditEvent(order_id=order_id, actor=actor, action=action, detail=detail)
    session.add(event)
    return event


def audit_trail(session: Session, order_id: int) -> Sequence[AuditEvent]:
    """An order's audit events, oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.order_id == order_id)
    return session.scalars(stmt.order_by(AuditEvent.at, AuditEvent.id)).all()


def file_delivered(session: Session, order_id: int, *, kind: str, since: datetime | None) -> bool:
    """Whether a file of ``kind`` reached the requester at or after ``since``."""
    query = select(DeliveredFile.id).where(
        DeliveredFile.order_id == order_id, DeliveredFile.kind == kind
    )
    if since is not None:
        query = query.where(DeliveredFile.delivered_at >= since)
    return session.scalar(query.limit(1)) is not None


def record_file(session: Session, *, order_id: int, **columns: Any) -> DeliveredFile:
    """Remember a file uploaded into someone's DM (and audit it)."""
    delivered = DeliveredFile(order_id=order_id, **columns)
    session.add(delivered)
    session.flush()
    record(
        session,
        order_id=order_id,
        actor="system",
        action=f"{delivered.kind}_delivered",
        to=delivered.user_id,
        file=delivered.slack_file_id,
        filename=delivered.filename,
    )
    return delivered


#: Events API ids are kept this long: Slack retries an event for about an hour at most.
KEEP_EVENT_IDS = timedelta(days=1)


def record_event(session: Session, event_id: str) -> bool:
    """Record an Events API delivery in the caller's transaction (so it counts as handled
    only if the work beside it commits); False when it was recorded before (a retry). Ids
    older than KEEP_EVENT_IDS are forgotten. A concurrent retry's commit raises
    IntegrityError for the loser."""
    if not event_id:
        return True
    if session.get(ProcessedEvent, event_id) is not None:
        return False
    session.add(ProcessedEvent(event_id=event_id))
    session.flush()
    forget_events_before(session, utcnow() - KEEP_EVENT_IDS)
    return True


def forget_events_before(session: Session, cutoff: datetime) -> None:
    """Drop Events API ids recorded before ``cutoff`` (Slack stops retrying long before)."""
    session.execute(delete(ProcessedEvent).where(ProcessedEvent.at < cutoff))


def key_files_sent(session: Session, order_id: int, *, since: datetime | None = None) -> bool:
    """Whether a private-key file of the order reached its owner (at or after ``since``)."""
    return file_delivered(session, order_id, kind="key", since=since)


def key_files_due(session: Session, *, now: datetime) -> list[tuple[int, str]]:
    """(row id, Slack file id) of key files whose time in a DM is up, oldest first."""
    rows = session.execute(
        select(DeliveredFile.id, DeliveredFile.slack_file_id)
        .where(
            DeliveredFile.kind == "key",
            DeliveredFile.deleted_at.is_(None),
            DeliveredFile.delete_after <= now,
        )
        .order_by(DeliveredFile.delete_after)
    ).all()
    return [(row_id, file_id) for row_id, file_id in rows]


def certificates_past(session: Session, *, now: datetime) -> list[int]:
    """Issued orders whose certificate's not_after has passed."""
    return list(
        session.scalars(
            select(Order.id).where(
                Order.state == "issued", Order.not_after.is_not(None), Order.not_after <= now
            )
        )
    )


def renewal_of(session: Session, order_id: int) -> Order | None:
    """The order started to renew ``order_id``, if any."""
    return session.scalars(
        select(Order).where(Order.renewed_from_id == order_id).order_by(Order.id)
    ).first()


def purchases_registered(session: Session, refs: Sequence[str]) -> set[str]:
    """Which of the CA purchase refs ``refs`` an order not cancelled already completes.

    A cancelled order leaves its purchase free to register again (the CA withdrew it).
    """
    if not refs:
        return set()
    rows = session.scalars(
        select(Order.purchase_ref).where(
            Order.purchase_ref.in_(list(refs)), Order.state != "cancelled"
        )
    )
    return {r for r in rows if r}


def channel_problem_reported(session: Session, channel: str) -> bool:
    """Whether the admins were already told that ``channel`` refuses certdesk's posts."""
    reports = session.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.order_id.is_(None), AuditEvent.action == "notify_channel_refused"
        )
    )
    return any(detail.get("channel") == channel for detail in reports)
