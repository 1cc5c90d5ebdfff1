"""Notifier over the Slack Web API: DMs, channel posts, files, home tabs, history look-ups."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from bot.application_form import UploadedFile
from bot.errors import SlackError
from bot.ports import Message, Notifier, Tag
from bot.slack import attachments
from bot.slack.failures import calling
from storage.models import SlackUser, utcnow

logger = logging.getLogger(__name__)
#: The database being away (down, frozen, pool exhausted): a DM goes out without its cache.
_DATABASE_AWAY = (OperationalError, InterfaceError, PoolTimeout)
#: Message metadata event type that carries a certdesk tag.
EVENT_TYPE = "certdesk_reminder"
#: Slack errors meaning a file is already gone.
_GONE = ("file_not_found", "file_deleted")
#: How far back in a conversation to look for a tagged message a crashed worker may have posted.
HISTORY_PAGES, PAGE_SIZE = 5, 200


class SlackNotifier(Notifier):
    """Sends what certdesk has to say to people; caches DM channel ids in the database.

    ``client`` retries connection errors, 429s and 5xx (work after an ack); ``quick`` fails
    fast, for the few calls made before an ack (downloading an attached file); ``careful``
    posts tagged messages and retries only what Slack surely did not do (a 429): after a 5xx
    or a dropped connection Slack may hold the message, so the caller looks for its tag in
    the conversation before posting again, instead of a blind retry doubling it.
    """

    def __init__(
        self,
        client: WebClient,
        sessions: sessionmaker[Session],
        *,
        quick: WebClient | None = None,
        careful: WebClient | None = None,
        api_url: str = "https://slack.com/api/",
        team_id: str | None = None,
    ) -> None:
        self.client = client
        # With many workspaces one user id may open a different DM in each (Enterprise Grid):
        # the cached DM channel and time zone are kept per workspace.
        self._prefix = f"{team_id}:" if team_id else ""
        self._quick = quick or client
        self._careful = careful or client
        self._sessions = sessions
        self._api_url = api_url
        # DM channels seen by this process: a DM saying the database is away needs none of it.
        self._dm_channels: dict[str, str] = {}

    def dm_channel(self, user_id: str) -> str:
        """The DM channel with ``user_id`` (conversations.open once, then cached)."""
        if user_id in self._dm_channels:
            return self._dm_channels[user_id]
        try:
            with self._sessions.begin() as session:
                user = session.get(SlackUser, self._prefix + user_id)
                if user and user.dm_channel_id:
                    self._dm_channels[user_id] = user.dm_channel_id
                    return user.dm_channel_id
        except _DATABASE_AWAY as exc:  # conversations.open finds the same channel again
            logger.warning("DM channel cache unavailable: %s", type(exc).__name__)
        with calling("opening a DM"):
            channel = str(self.client.conversations_open(users=user_id)["channel"]["id"])
        self._dm_channels[user_id] = channel
        try:
            self._remember(user_id, dm_channel_id=channel)
        except _DATABASE_AWAY as exc:
            logger.warning("DM channel not cached: %s", type(exc).__name__)
        return channel

    def dm(self, user_id: str, message: Message, *, tag: Tag | None = None) -> tuple[str, str]:
        channel = self.dm_channel(user_id)
        return channel, self.post(channel, message, tag=tag)

    def post(self, channel: str, message: Message, *, tag: Tag | None = None) -> str:
        metadata = (
            {"event_type": EVENT_TYPE, "event_payload": {f"{tag.kind}_id": tag.key}}
            if tag
            else None
        )
        with calling("a message"):
            response = (self._careful if tag else self.client).chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=list(message.blocks) or None,
                metadata=metadata,
            )
        return str(response["ts"])

    def update(self, channel: str, ts: str, message: Message) -> None:
        with calling("updating a message"):
            self.client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=list(message.blocks)
            )

    def find_tagged(self, channel: str, tag: Tag) -> str | None:
        """Look through recent history for the tag; raises SlackError (retryable or not)."""
        return self._search(
            channel, lambda m: str(m["ts"]) if _tag_of(m) == tag else None, metadata=True
        )

    def find_file(self, channel: str, filename: str, *, since: datetime) -> str | None:
        """Look through recent history for a file of that name shared since ``since``;
        raises SlackError."""
        # A second's leeway: a message ts may be cut to the second (Slack's are not, but a
        # round's files always come well after the previous round's).
        after = since.timestamp() - 1

        def match(message: Mapping[str, Any]) -> str | None:
            if float(message.get("ts") or 0) < after:
                return None
            for file in message.get("files") or []:
                if file.get("name") == filename and file.get("mode") != "tombstone":
                    return str(file["id"])
            return None

        return self._search(channel, match, metadata=False)

    def _search(
        self,
        channel: str,
        match: Callable[[Mapping[str, Any]], str | None],
        *,
        metadata: bool,
    ) -> str | None:
        cursor = None
        for _ in range(HISTORY_PAGES):
            with calling("reading a conversation's history"):
                page = self.client.conversations_history(
                    channel=channel, limit=PAGE_SIZE, include_all_metadata=metadata, cursor=cursor
                )
            for message in page.get("messages") or []:
                found = match(message)
                if found is not None:
                    return found
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
        return None

    def upload_to_dm(
        self, user_id: str, *, filename: str, content: bytes, title: str
    ) -> tuple[str, str]:
        channel = self.dm_channel(user_id)
        with calling("a file upload"):
            response = self.client.files_upload_v2(
                channel=channel, filename=filename, content=content, title=title
            )
        return channel, str(response["files"][0]["id"])

    def delete_file(self, file_id: str) -> bool:
        try:
            with calling("deleting a file"):
                self.client.files_delete(file=file_id)
        except SlackError as exc:
            if exc.code in _GONE:
                return False
            raise
        return True

    def time_zone(self, user_id: str) -> str:
        """The user's IANA time zone from users.info, cached for a day; UTC when unknown."""
        with self._sessions.begin() as session:
            user = session.get(SlackUser, self._prefix + user_id)
            if user and user.tz and user.fetched_at and (utcnow() - user.fetched_at).days < 1:
                return user.tz
        with calling("looking up a time zone"):
            tz = str(self.client.users_info(user=user_id)["user"].get("tz") or "UTC")
        self._remember(user_id, tz=tz, fetched_at=utcnow())
        return tz

    def group_members(self, group_id: str) -> list[str]:
        with calling("reading a user group"):
            found = self.client.usergroups_users_list(usergroup=group_id)
        return [str(user) for user in found.get("users") or []]

    def publish_home(self, user_id: str, view: Mapping[str, Any]) -> None:
        with calling("publishing a Home tab"):
            self.client.views_publish(user_id=user_id, view=dict(view))

    def download(self, file: Mapping[str, Any]) -> UploadedFile:
        return attachments.download(
            self._quick, file, token=self.client.token or "", api_url=self._api_url
        )

    def _remember(self, user_id: str, **values: object) -> None:
        """Cache facts about a user; two threads may race to create the row, and both win."""
        user_id = self._prefix + user_id
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


def _tag_of(message: Mapping[str, Any]) -> Tag | None:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if metadata.get("event_type") != EVENT_TYPE or len(payload) != 1:
        return None
    ((name, key),) = payload.items()
    if not name.endswith("_id") or not isinstance(key, int):
        return None
    return Tag(name.removesuffix("_id"), key)
