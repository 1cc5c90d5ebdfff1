"""Direct messages, channel notices and private file uploads through the Slack Web API."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.models.blocks import Block
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.views.common import to_dicts
from storage.models import SlackUser, utcnow

logger = logging.getLogger(__name__)


class Notifier:
    """Sends what certdesk has to say to people; caches DM channel ids in the database."""

    def __init__(self, client: WebClient, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self._sessions = sessions

    def dm_channel(self, user_id: str) -> str:
        """The DM channel with ``user_id`` (conversations.open once, then cached)."""
        with self._sessions.begin() as session:
            user = session.get(SlackUser, user_id)
            if user and user.dm_channel_id:
                return user.dm_channel_id
        channel = str(self.client.conversations_open(users=user_id)["channel"]["id"])
        self._remember(user_id, dm_channel_id=channel)
        return channel

    def dm(
        self,
        user_id: str,
        *,
        text: str,
        blocks: Sequence[Block | dict] = (),
        metadata: dict | None = None,
    ) -> str:
        """Post a DM (``metadata``: Slack message metadata to find it by); return its ts."""
        return self.post(self.dm_channel(user_id), text=text, blocks=blocks, metadata=metadata)

    def post(
        self,
        channel: str,
        *,
        text: str,
        blocks: Sequence[Block | dict] = (),
        metadata: dict | None = None,
    ) -> str:
        """Post to a channel (the team's notify channel); return the message's ts."""
        # slack_sdk leaves out arguments that are None.
        response = self.client.chat_postMessage(
            channel=channel, text=text, blocks=to_dicts(blocks) or None, metadata=metadata
        )
        return str(response["ts"])

    def upload_to_dm(
        self, user_id: str, *, filename: str, content: bytes, title: str
    ) -> tuple[str, str]:
        """Upload a file privately into the user's DM; return (channel id, file id)."""
        channel = self.dm_channel(user_id)
        response = self.client.files_upload_v2(
            channel=channel, filename=filename, content=content, title=title
        )
        return channel, str(response["files"][0]["id"])

    def delete_file(self, file_id: str) -> None:
        """Delete a file certdesk uploaded."""
        self.client.files_delete(file=file_id)

    def time_zone(self, user_id: str) -> str:
        """The user's IANA time zone from users.info, cached for a day; UTC when unknown."""
        with self._sessions.begin() as session:
            user = session.get(SlackUser, user_id)
            if user and user.tz and user.fetched_at and (utcnow() - user.fetched_at).days < 1:
                return user.tz
        tz = str(self.client.users_info(user=user_id)["user"].get("tz") or "UTC")
        self._remember(user_id, tz=tz, fetched_at=utcnow())
        return tz

    def _remember(self, user_id: str, **values: object) -> None:
        """Cache facts about a user; two threads may race to create the row, and both win."""
        for _ in range(2):
            try:
                with self._sessions.begin() as session:
                    user = session.get(SlackUser, user_id) or SlackUser(user_id=user_id)
                    for name, value in values.items():
                        setattr(user, name, value)
                    session.add(user)
                return
            except IntegrityError:
                continue  # the other thread inserted it first: update its row instead
