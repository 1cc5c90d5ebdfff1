"""The things every service function, handler and job is handed (built in bot.app)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import access
from bot.background import Background
from bot.config import Settings

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

    def is_admin(self, user_id: str) -> bool:
        """Whether the user is one of CERTDESK_ADMINS."""
        return user_id in self.settings.admins

    def may_act(self, order: Order, user_id: str) -> bool:
        """Whether the user may change the order (its requester or an admin)."""
        return access.may_act(order, user_id, admins=self.settings.admins)
