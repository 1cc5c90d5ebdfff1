"""Many workspaces (OAuth mode): installations in certdesk's database, a Notifier per team.

slack-sdk's SQLAlchemy stores keep installations and OAuth state in the tables that
migration 0006_installations creates (tokens sealed, see bot.slack.sealed_tokens).
``TeamNotifier`` is the Notifier port for the workspace being served (bot.teams): it finds
that workspace's bot token, refreshes it before it expires (token rotation) and reaches
Slack with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import teams
from bot.application_form import UploadedFile
from bot.crypto import Custody
from bot.errors import SlackError
from bot.ports import Message, Notifier, Tag
from bot.slack.failures import calling
from bot.slack.notifier import SlackNotifier
from bot.slack.sealed_tokens import SealedInstallationStore

logger = logging.getLogger(__name__)

#: What certdesk asks a workspace for: the bot scopes of app_manifest.yml (a test keeps them equal).
SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "files:read",
    "files:write",
    "users:read",
    "im:history",
    "channels:history",
    "usergroups:read",
)
#: Refresh a rotating token this long before it expires (Bolt's default too).
ROTATE_MINUTES = 120
#: How long an OAuth state (the install link's nonce) stays valid.
STATE_SECONDS = 600


def installation_store(
    engine: Engine, client_id: str, *, custody: Custody
) -> SealedInstallationStore:
    """Installations (bot tokens, refresh tokens) in certdesk's database, tokens sealed."""
    return SealedInstallationStore(client_id, engine, custody=custody)


def state_store(engine: Engine) -> SQLAlchemyOAuthStateStore:
    """OAuth state for the install link, in certdesk's database."""
    return SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine)


class TeamNotifier(Notifier):
    """The Notifier port for many workspaces: each call goes out with its team's token.

    ``make_client``, ``make_quick`` and ``make_careful`` build, for a token, the retrying,
    the fail-fast and the tagged-post client, as in one-workspace mode. A team with no
    installation gets a SlackError (``not_installed``), never another workspace's token.
    """

    def __init__(
        self,
        store: SealedInstallationStore,
        rotator: TokenRotator,
        sessions: sessionmaker[Session],
        *,
        make_client: Callable[[str], WebClient],
        make_quick: Callable[[str], WebClient],
        make_careful: Callable[[str], WebClient],
        api_url: str,
    ) -> None:
        self.store = store
        self._rotator = rotator
        self._sessions = sessions
        self._make_client, self._make_quick = make_client, make_quick
        self._make_careful = make_careful
        self._api_url = api_url
        self._lock = threading.Lock()
        self._rotating = threading.Lock()
        self._by_team: dict[str, SlackNotifier] = {}

    def for_team(self, team_id: str) -> SlackNotifier:
        """The notifier holding ``team_id``'s current bot token (rotated first if due)."""
        token = self._token(team_id)
        with self._lock:
            cached = self._by_team.get(team_id)
            if cached is not None and cached.client.token == token:
                return cached
            notifier = SlackNotifier(
                self._make_client(token),
                self._sessions,
                quick=self._make_quick(token),
                careful=self._make_careful(token),
                api_url=self._api_url,
                team_id=team_id,
            )
            self._by_team[team_id] = notifier
            return notifier

    def _token(self, team_id: str) -> str:
        installation = self._installation(team_id)
        expires = installation.bot_token_expires_at
        if expires is not None and expires <= time.time() + ROTATE_MINUTES * 60:
            # One refresh at a time in this process; the loser finds the new token stored.
            with self._rotating:
                installation = self._installation(team_id)
                with calling("refreshing a workspace's token"):
                    rotated = self._rotator.perform_token_rotation(
                        installation=installation, minutes_before_expiration=ROTATE_MINUTES
                    )
                if rotated is not None:
                    self.store.save(rotated)
                    installation = rotated
                    logger.info("workspace %s: bot token rotated", team_id)
        return str(installation.bot_token)

    def _installation(self, team_id: str) -> Installation:
        installation = self.store.find_installation(enterprise_id=None, team_id=team_id)
        if installation is None or not installation.bot_token:
            raise SlackError(
                f"certdesk is not installed in workspace {team_id}", code="not_installed"
            )
        return installation

    def _current(self) -> SlackNotifier:
        team_id = teams.current()
        if team_id is None:
            # Nothing in OAuth mode may reach Slack without knowing whose workspace it is.
            raise SlackError("no workspace given for a Slack call", code="no_workspace")
        return self.for_team(team_id)

    def forget_workspace(self, team_id: str) -> None:
        """Delete the workspace's installations and tokens (its orders stay)."""
        self.store.delete_all(enterprise_id=None, team_id=team_id)
        with self._lock:
            self._by_team.pop(team_id, None)

    def dm_channel(self, user_id: str) -> str:
        return self._current().dm_channel(user_id)

    def dm(self, user_id: str, message: Message, *, tag: Tag | None = None) -> tuple[str, str]:
        return self._current().dm(user_id, message, tag=tag)

    def post(self, channel: str, message: Message, *, tag: Tag | None = None) -> str:
        return self._current().post(channel, message, tag=tag)

    def update(self, channel: str, ts: str, message: Message) -> None:
        self._current().update(channel, ts, message)

    def find_tagged(self, channel: str, tag: Tag) -> str | None:
        return self._current().find_tagged(channel, tag)

    def find_file(self, channel: str, filename: str, *, since: datetime) -> str | None:
        return self._current().find_file(channel, filename, since=since)

    def upload_to_dm(
        self, user_id: str, *, filename: str, content: bytes, title: str
    ) -> tuple[str, str]:
        return self._current().upload_to_dm(
            user_id, filename=filename, content=content, title=title
        )

    def delete_file(self, file_id: str) -> bool:
        return self._current().delete_file(file_id)

    def time_zone(self, user_id: str) -> str:
        return self._current().time_zone(user_id)

    def group_members(self, group_id: str) -> list[str]:
        return self._current().group_members(group_id)

    def publish_home(self, user_id: str, view: Mapping[str, Any]) -> None:
        self._current().publish_home(user_id, view)

    def download(self, file: Mapping[str, Any]) -> UploadedFile:
        return self._current().download(file)
