"""What certdesk already put in a conversation, so a retry after a crash never posts it twice.

A worker can die after Slack took a notice or a file and before the database recorded it.
Notices carry message metadata naming the order and the notice; files have a name unique to
the order. A retry (the redelivery sweep) looks in the conversation's recent history first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.services import Services

logger = logging.getLogger(__name__)

#: Message metadata event type of an order's notices (issued, submitted, ...).
EVENT_TYPE = "certdesk_notice"
#: How far back to look: a crashed worker's post is among the latest messages.
HISTORY_PAGES, PAGE_SIZE = 3, 200


def notice_metadata(order_id: int, notice: str) -> dict[str, Any]:
    """The metadata a notice is posted with."""
    return {"event_type": EVENT_TYPE, "event_payload": {"order_id": order_id, "notice": notice}}


def find_notice(services: Services, channel: str, *, order_id: int, notice: str) -> str | None:
    """The ts of this order's ``notice`` already in ``channel``, or None."""

    def match(message: dict[str, Any]) -> str | None:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if (
            metadata.get("event_type") == EVENT_TYPE
            and payload.get("order_id") == order_id
            and payload.get("notice") == notice
        ):
            return str(message["ts"])
        return None

    return _search(services, channel, match, metadata=True)


def find_file(services: Services, channel: str, *, filename: str) -> str | None:
    """The id of a file named ``filename`` already shared in ``channel``, or None."""

    def match(message: dict[str, Any]) -> str | None:
        for file in message.get("files") or []:
            if file.get("name") == filename and file.get("mode") != "tombstone":
                return str(file["id"])
        return None

    return _search(services, channel, match, metadata=False)


def _search(
    services: Services,
    channel: str,
    match: Callable[[dict[str, Any]], str | None],
    *,
    metadata: bool,
) -> str | None:
    """First match in the channel's latest messages. Raises SlackApiError for 429/5xx; when
    certdesk may not read the history it logs that and answers None (a double beats a loss)."""
    cursor = None
    for _ in range(HISTORY_PAGES):
        try:
            page = services.notifier.client.conversations_history(
                channel=channel, limit=PAGE_SIZE, include_all_metadata=metadata, cursor=cursor
            )
        except SlackApiError as exc:
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                raise
            logger.error("cannot read %s to look for an earlier post: %s", channel, exc)
            return None
        for message in page.get("messages") or []:
            found = match(message)
            if found is not None:
                return found
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page.get("has_more") or not cursor:
            return None
    return None
