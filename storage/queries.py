"""Queries used by the service layer. They never commit: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from storage.models import AuditEvent, DeliveredFile, Order, Organization, Watcher


def get_order(session: Session, order_id: int, *, for_update: bool = False) -> Order | None:
    """One order with its domains, applicant and watchers loaded."""
    stmt = (
        select(Order)
        .where(Order.id == order_id)
        .options(
            selectinload(Order.domains),
            selectinload(Order.applicant),
            selectinload(Order.watchers),
            selectinload(Order.organization),
        )
    )
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def orders_visible_to(
    session: Session, *, team_id: str, user_id: str, all_orders: bool = False
) -> Sequence[Order]:
    """Orders the user owns or watches (or every order of the team, for admins), newest first."""
    stmt = (
        select(Order)
        .where(Order.team_id == team_id)
        .options(selectinload(Order.domains), selectinload(Order.watchers))
        .order_by(Order.id.desc())
    )
    if not all_orders:
        watched = select(Watcher.order_id).where(Watcher.user_id == user_id)
        stmt = stmt.where(or_(Order.requester_id == user_id, Order.id.in_(watched)))
    return session.scalars(stmt).all()


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


def audit_has(session: Session, order_id: int, action: str, *, since: datetime | None) -> bool:
    """Whether the audit trail has ``action`` for this order at or after ``since``."""
    query = select(AuditEvent.id).where(
        AuditEvent.order_id == order_id, AuditEvent.action == action
    )
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    return session.scalar(query.limit(1)) is not None


def last_audit_at(session: Session, order_id: int, action: str) -> datetime | None:
    """When ``action`` was last recorded for the order."""
    return session.scalar(
        select(func.max(AuditEvent.at)).where(
            AuditEvent.order_id == order_id, AuditEvent.action == action
        )
    )


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


def set_delivery_due(session: Session, order_id: int, *, at: datetime | None) -> None:
    """When the order's owed announcements are next tried (None: nothing owed)."""
    session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(delivery_due_at=at)
        .execution_options(synchronize_session=False)
    )
