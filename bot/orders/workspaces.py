"""Workspaces coming and going (OAuth mode): install, uninstall, revoked tokens, purge."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from bot import teams
from bot.orders.admins import first_admin
from bot.services import Services
from storage import queries, workspaces

logger = logging.getLogger(__name__)


def installed(services: Services, team_id: str, *, by: str | None) -> None:
    """A workspace installed certdesk (again): its reminders and polls run (resume)."""
    with services.sessions.begin() as session:
        workspaces.installed(session, team_id, by=by)
    first_admin(services, team_id, by)
    logger.info("workspace %s installed certdesk", team_id)


def uninstalled(services: Services, team_id: str, *, why: str, event_id: str = "") -> None:
    """The workspace left (``app_uninstalled``) or revoked the bot's token.

    Its orders, keys and audit stay, but sweeps skip them and its tokens are deleted;
    installing again resumes everything. ``event_id`` is recorded in the transaction that
    pauses the workspace: a delivery whose pause failed is handled again when Slack retries
    it; a retry of one already handled deletes the tokens again while the workspace is still
    paused (in case deleting them failed the first time), and changes nothing after a
    reinstall.
    """
    try:
        with services.sessions.begin() as session:
            if queries.record_event(session, event_id):
                workspaces.uninstalled(session, team_id)
            elif workspaces.is_active(session, team_id):
                return  # handled, and installed again since: its new tokens stay
    except IntegrityError:
        return  # a concurrent retry of the same delivery paused it
    services.notifier.forget_workspace(team_id)
    logger.info("workspace %s paused: %s", team_id, why)


@contextmanager
def acting_for_order(services: Services, order_id: int) -> Iterator[None]:
    """Run a sweep's work on one order for the order's workspace (its token, its data)."""
    with services.sessions.begin() as session:
        team_id = workspaces.team_of_order(session, order_id)
    with teams.acting_for(team_id or teams.current()):
        yield
