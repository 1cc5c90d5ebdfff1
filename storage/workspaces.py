"""Workspaces (OAuth mode): which are installed, and which orders belong to one that left."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, column, delete, func, select, table, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import TableClause

from bot.crypto.tokens import BOT_TOKENS, INSTALLATION_TOKENS
from storage.models import (
    AuditEvent,
    CARecord,
    Delivery,
    Order,
    Organization,
    SlackUser,
    Workspace,
    WorkspaceAdmin,
    utcnow,
)


def installed(session: Session, team_id: str, *, by: str | None) -> Workspace:
    """Record an install (or a reinstall, which resumes the workspace's reminders and polls)."""
    workspace = session.get(Workspace, team_id) or Workspace(team_id=team_id, installed_by=by)
    workspace.active, workspace.uninstalled_at, workspace.installed_at = True, None, utcnow()
    session.add(workspace)
    return workspace


def uninstalled(session: Session, team_id: str, *, at: datetime | None = None) -> None:
    """Mark the workspace inactive: sweeps skip its orders until it installs again."""
    workspace = session.get(Workspace, team_id) or Workspace(team_id=team_id)
    workspace.active, workspace.uninstalled_at = False, at or utcnow()
    session.add(workspace)


def admins_of(session: Session, team_id: str) -> frozenset[str]:
    """The workspace's own certdesk admins."""
    found = session.scalars(select(WorkspaceAdmin.user_id).where(WorkspaceAdmin.team_id == team_id))
    return frozenset(found)


def add_admin(session: Session, team_id: str, user_id: str, *, by: str) -> bool:
    """Make ``user_id`` an admin of the workspace; False if they already were."""
    if session.get(WorkspaceAdmin, (team_id, user_id)) is not None:
        return False
    session.add(WorkspaceAdmin(team_id=team_id, user_id=user_id, added_by=by))
    return True


def remove_admin(session: Session, team_id: str, user_id: str) -> bool:
    """Remove an admin of the workspace; False if they were not one."""
    found = session.get(WorkspaceAdmin, (team_id, user_id))
    if found is None:
        return False
    session.delete(found)
    return True


def settings_of(session: Session, team_id: str) -> tuple[str | None, frozenset[str]]:
    """The workspace's own notify channel and approvers (None and empty when unset)."""
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        return None, frozenset()
    return workspace.notify_channel, frozenset(workspace.approvers or [])


def set_notify_channel(session: Session, team_id: str, channel: str | None) -> None:
    """Set (or, with None, clear) the workspace's notify channel."""
    workspace = session.get(Workspace, team_id) or Workspace(team_id=team_id)
    workspace.notify_channel = channel
    session.add(workspace)


def set_approvers(session: Session, team_id: str, approvers: frozenset[str]) -> None:
    """Replace the workspace's approvers (user IDs and user group IDs)."""
    workspace = session.get(Workspace, team_id) or Workspace(team_id=team_id)
    workspace.approvers = sorted(approvers)
    session.add(workspace)


def is_active(session: Session, team_id: str) -> bool:
    """Whether the workspace may be served (unknown workspaces count as active)."""
    workspace = session.get(Workspace, team_id)
    return workspace is None or workspace.active


def inactive_teams() -> Select[Any]:
    """The ids of workspaces that uninstalled certdesk (for ``not_in`` in sweeps)."""
    return select(Workspace.team_id).where(Workspace.active.is_(False))


def paused_orders() -> Select[Any]:
    """The ids of orders whose workspace uninstalled certdesk (for ``not_in`` in sweeps)."""
    return select(Order.id).where(Order.team_id.in_(inactive_teams()))


def team_of_order(session: Session, order_id: int) -> str | None:
    """The workspace an order belongs to."""
    return session.scalar(select(Order.team_id).where(Order.id == order_id))


#: slack-sdk's tables holding a workspace's tokens (created by migration 0006_installations),
#: with their token columns.
TOKEN_COLUMNS = {"slack_bots": BOT_TOKENS, "slack_installations": INSTALLATION_TOKENS}
_TOKEN_TABLES = tuple(TOKEN_COLUMNS)


@dataclass(frozen=True)
class TokenRow:
    """One row of a token table: where it is, whose it is, and its stored token values."""

    table: str
    row_id: int
    enterprise_id: str | None
    team_id: str | None
    values: dict[str, str]


def _token_table(name: str) -> TableClause:
    return table(name, column("id"), column("enterprise_id"), column("team_id"),
                 *(column(c) for c in TOKEN_COLUMNS[name]))  # fmt: skip


def token_rows(session: Session) -> Iterator[TokenRow]:
    """Every stored workspace token row (one query per table, not one per row)."""
    for name in _TOKEN_TABLES:
        t = _token_table(name)
        for found in session.execute(select(t).order_by(t.c.id)).mappings():
            yield _token_row(name, found)


def token_row(session: Session, name: str, row_id: int, *, lock: bool = False) -> TokenRow | None:
    """One token row (locked for update with ``lock``); its empty token columns left out."""
    t = _token_table(name)
    query = select(t).where(t.c.id == row_id)
    found = session.execute(query.with_for_update() if lock else query).mappings().first()
    return None if found is None else _token_row(name, found)


def _token_row(name: str, found: Any) -> TokenRow:
    values = {c: found[c] for c in TOKEN_COLUMNS[name] if found[c]}
    return TokenRow(name, found["id"], found["enterprise_id"], found["team_id"], values)


def set_tokens(session: Session, row: TokenRow, values: dict[str, str]) -> None:
    """Write new stored values of the row's tokens."""
    t = _token_table(row.table)
    session.execute(update(t).where(t.c.id == row.row_id).values(**values))


def data_of(session: Session, team_id: str) -> dict[str, int]:
    """How many orders, organizations and audit events the workspace has (for the prompt)."""
    orders = select(Order.id).where(Order.team_id == team_id)
    return {
        "orders": session.scalar(select(func.count()).select_from(orders.subquery())) or 0,
        "organizations": session.scalar(select(func.count()).where(Organization.team_id == team_id))
        or 0,
        "audit events": session.scalar(select(func.count()).where(AuditEvent.order_id.in_(orders)))
        or 0,
    }


def purge(session: Session, team_id: str) -> dict[str, int]:
    """Delete everything certdesk holds for the workspace; return what was there.

    Orders take their domains, contacts, keys, reminders, files and audit with them
    (ON DELETE CASCADE), and what the CA backend remembers of them; then the saved
    organizations, the workspace row, its tokens and the per-workspace user cache.
    """
    counts = data_of(session, team_id)
    ids = select(Order.id).where(Order.team_id == team_id)
    # A renewal points at the order it renewed (same workspace): unlink before deleting.
    session.execute(update(Order).where(Order.team_id == team_id).values(renewed_from_id=None))
    session.execute(delete(AuditEvent).where(AuditEvent.order_id.in_(ids)))
    # What the CA backend remembers of those orders (the simulated CA keeps the applicant).
    refs = select(Order.ca_ref).where(Order.team_id == team_id, Order.ca_ref.is_not(None))
    session.execute(delete(CARecord).where(CARecord.ref.in_(refs)))
    session.execute(delete(Order).where(Order.team_id == team_id))
    session.execute(delete(Organization).where(Organization.team_id == team_id))
    session.execute(delete(Workspace).where(Workspace.team_id == team_id))
    session.execute(delete(WorkspaceAdmin).where(WorkspaceAdmin.team_id == team_id))
    # Its outbox rows about no order (reports to its admins); the orders' own went with them.
    session.execute(delete(Delivery).where(Delivery.team_id == team_id))
    session.execute(delete(SlackUser).where(SlackUser.user_id.startswith(f"{team_id}:")))
    for name in _TOKEN_TABLES:
        tokens = table(name, column("team_id"))
        session.execute(delete(tokens).where(tokens.c.team_id == team_id))
    return counts
