"""The ports the use cases talk through: what they may say to people, and how it is sent.

``bot.orders`` knows these interfaces only. The Slack adapter (``bot.slack``) implements
``Notifier``; ``bot.views.messages`` implements ``Presenter``; ``bot.app`` wires them in.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.application_form import UploadedFile


@dataclass(frozen=True)
class Message:
    """What one person or channel reads: a fallback text and Block Kit blocks as dicts."""

    text: str
    blocks: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Tag:
    """A label carried by a posted message (Slack message metadata), so it can be found again."""

    kind: str
    key: int


@dataclass(frozen=True)
class Notice:
    """An event as each audience reads it: the person it is for, watchers, the team channel."""

    main: Message
    watchers: Message | None = None
    channel: Message | None = None


class Notifier(abc.ABC):
    """Everything certdesk sends to or reads from Slack outside a request's own listener.

    Every method raises ``bot.errors.SlackError`` (never a Slack library exception):
    ``retryable`` for outages and rate limits, ``maybe_delivered`` when Slack may have
    acted although the call failed.
    """

    @abc.abstractmethod
    def dm_channel(self, user_id: str) -> str:
        """The DM conversation id with ``user_id``."""

    @abc.abstractmethod
    def dm(self, user_id: str, message: Message, *, tag: Tag | None = None) -> tuple[str, str]:
        """Post into the user's DM; return (channel, ts)."""

    @abc.abstractmethod
    def post(self, channel: str, message: Message, *, tag: Tag | None = None) -> str:
        """Post into a channel; return the message's ts."""

    @abc.abstractmethod
    def update(self, channel: str, ts: str, message: Message) -> None:
        """Replace a message certdesk posted."""

    @abc.abstractmethod
    def find_tagged(self, channel: str, tag: Tag) -> str | None:
        """The ts of a message carrying ``tag`` in the channel's recent history, or None."""

    @abc.abstractmethod
    def find_file(self, channel: str, filename: str, *, since: datetime) -> str | None:
        """The id of a file named ``filename`` shared in ``channel`` since ``since``, or None
        (a crashed worker may have uploaded it without recording it)."""

    @abc.abstractmethod
    def upload_to_dm(
        self, user_id: str, *, filename: str, content: bytes, title: str
    ) -> tuple[str, str]:
        """Upload a file privately into the user's DM; return (channel, file id)."""

    @abc.abstractmethod
    def delete_file(self, file_id: str) -> bool:
        """Delete a file certdesk uploaded; False if it was already gone."""

    @abc.abstractmethod
    def time_zone(self, user_id: str) -> str:
        """The user's IANA time zone (UTC when unknown)."""

    @abc.abstractmethod
    def group_members(self, group_id: str) -> list[str]:
        """The Slack user ids in a user group (``S…``)."""

    @abc.abstractmethod
    def publish_home(self, user_id: str, view: Mapping[str, Any]) -> None:
        """Publish the user's App Home tab."""

    @abc.abstractmethod
    def download(self, file: Mapping[str, Any]) -> UploadedFile:
        """Fetch a file a person attached in a modal (before the ack: fails fast, in words)."""

    def forget_workspace(self, team_id: str) -> None:
        """The workspace uninstalled certdesk or revoked its tokens: drop what reaches it.

        One workspace (a fixed bot token) has nothing to forget.
        """
        return None


class Presenter(Protocol):
    """Turns what happened into what people read (implemented in ``bot.views.messages``)."""

    def notice(self, event: object) -> Notice:
        """The messages for one event (``bot.events``)."""
        ...

    def home(
        self,
        orders: Sequence[Any],
        *,
        user_id: str,
        admin: bool,
        approvals: Sequence[Any] = (),
        approvals_total: int | None = None,
        counts: Mapping[str, Any] | None = None,
    ) -> Mapping[str, Any]:
        """The App Home view for ``user_id`` showing ``orders`` and ``approvals`` waiting for
        them as (ref, order id, requester, asked at); ``approvals_total`` and ``counts`` (per
        Home group) say how many there are in all when only some were read."""
        ...
