"""The things every service function, handler and job is handed (built in bot.app)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import access, teams
from bot.background import Background
from bot.config import Settings
from storage import workspaces

if TYPE_CHECKING:
    from bot.ca.base import CABackend
    from bot.crypto import Custody
    from bot.ports import Notifier, Presenter
    from storage.models import Order


@dataclass
class Services:
    """Settings, the database, and the outside world (Slack, the CA)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    notifier: Notifier
    presenter: Presenter
    background: Background
    custody: Custody
    ca: CABackend

    def admins(self, team_id: str | None = None) -> frozenset[str]:
        """CERTDESK_ADMINS, and with many workspaces (OAuth) that workspace's own admins.

        ``team_id`` defaults to the workspace being served (bot.teams).
        """
        team_id = team_id or teams.current()
        if not self.settings.oauth or team_id is None:
            return self.settings.admins
        with self.sessions.begin() as session:
            return self.settings.admins | workspaces.admins_of(session, team_id)

    def notify_channel(
        self, team_id: str | None = None, *, session: Session | None = None
    ) -> str | None:
        """The workspace's channel (OAuth, set by its admins), else CERTDESK_NOTIFY_CHANNEL.

        ``session``: read in the caller's open transaction rather than on a connection of
        its own (a change that owes a channel line holds its transaction meanwhile).
        """
        team_id = team_id or teams.current()
        if self.settings.oauth and team_id is not None:
            within = self.sessions.begin() if session is None else contextlib.nullcontext(session)
            with within as reading:
                channel, _ = workspaces.settings_of(reading, team_id)
            if channel:
                return channel
        return self.settings.notify_channel

    def approvers(self, team_id: str | None = None) -> frozenset[str]:
        """CERTDESK_APPROVERS, and with many workspaces that workspace's own approvers."""
        team_id = team_id or teams.current()
        if not self.settings.oauth or team_id is None:
            return self.settings.approvers
        with self.sessions.begin() as session:
            _, own = workspaces.settings_of(session, team_id)
        return self.settings.approvers | own

    def needs_approval(self, product: str, team_id: str | None = None) -> bool:
        """Whether an order of ``product`` waits for approval (nobody to approve: it does not)."""
        if not self.settings.oauth:
            return self.settings.needs_approval(product)
        anyone = self.approvers(team_id) or self.admins(team_id)
        return product in self.settings.approval and bool(anyone)

    def is_admin(self, user_id: str) -> bool:
        """Whether the user is an admin (of the workspace being served)."""
        return user_id in self.admins()

    def may_act(self, order: Order, user_id: str) -> bool:
        """Whether the user may change the order (its requester or an admin)."""
        return access.may_act(order, user_id, admins=self.admins(order.team_id))
