"""The things every service function, handler and job is handed (built in bot.app)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.background import Background
from bot.config import Settings

if TYPE_CHECKING:
    from bot.ca.base import CABackend
    from bot.crypto import Custody
    from bot.ports import Notifier, Presenter


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
