"""The Slack side of a reminder: where it goes, posting it with its slot id, finding it again."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.orders.reminding import slots
from bot.services import Services
from bot.views.common import to_dicts
from bot.views.verification import out_of_date

logger = logging.getLogger(__name__)

#: Message metadata event type that ties a posted reminder to its slot.
EVENT_TYPE = "certdesk_reminder"
#: How far back in a conversation to look for a reminder a crashed worker may have posted.
HISTORY_PAGES, PAGE_SIZE = 5, 200


def channel_for(services: Services, recipient: str) -> str:
    """A person's DM channel, or the channel a ``#C…`` recipient names."""
    if recipient.startswith(slots.CHANNEL):
        return recipient.removeprefix(slots.CHANNEL)
    return services.notifier.dm_channel(recipient)


def post(
    services: Services, channel: str, reminder_id: int, *, text: str, blocks: Sequence[Block | dict]
) -> str:
    """Post the reminder carrying its slot id as message metadata; return the message ts."""
    response = services.notifier.client.chat_postMessage(
        channel=channel,
        text=text,
        blocks=to_dicts(blocks) or None,
        metadata={"event_type": EVENT_TYPE, "event_payload": {"reminder_id": reminder_id}},
    )
    return str(response["ts"])


def find_posted(services: Services, channel: str, reminder_id: int) -> str | None:
    """The ts of a message for this slot already in ``channel`` (posted by a worker that died
    before recording it), or None.

    Raises SlackApiError for a transient failure. If certdesk may not read the history
    (missing ``im:history``), it logs that and answers None: a possible double beats a loss.
    """
    cursor = None
    for _ in range(HISTORY_PAGES):
        try:
            page = services.notifier.client.conversations_history(
                channel=channel, limit=PAGE_SIZE, include_all_metadata=True, cursor=cursor
            )
        except SlackApiError as exc:
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                raise
            logger.error(
                "cannot read %s to check reminder %s: %s",
                channel,
                reminder_id,
                exc.response.get("error"),
            )
            return None
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == EVENT_TYPE
                and payload.get("reminder_id") == reminder_id
            ):
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page.get("has_more") or not cursor:
            return None
    return None


def replace(services: Services, channel: str, ts: str, ref: str, state_words: str) -> None:
    """Turn a reminder the order outran into a note that it is out of date (best effort)."""
    text, blocks = out_of_date(ref, state_words)
    try:
        services.notifier.client.chat_update(
            channel=channel, ts=ts, text=text, blocks=to_dicts(blocks)
        )
    except SlackApiError:
        logger.warning("could not mark reminder %s in %s out of date", ts, channel)
