"""Workspaces (OAuth mode): which are installed, and which orders belong to one that left."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from storage.models import Order, Workspace, utcnow


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


def is_active(session: Session, team_id: str) -> bool:
    """Whether the workspace may be served (unknown workspaces count as active)."""
    workspace = session.get(Workspace, team_id)
    return workspace is None or workspace.active


def paused_orders() -> Select[Any]:
    """The ids of orders whose workspace uninstalled certdesk (for ``not_in`` in sweeps)."""
    inactive = select(Workspace.team_id).where(Workspace.active.is_(False))
    return select(Order.id).where(Order.team_id.in_(inactive))


def team_of_order(session: Session, order_id: int) -> str | None:
    """The workspace an order belongs to."""
    return session.scalar(select(Order.team_id).where(Order.id == order_id))
