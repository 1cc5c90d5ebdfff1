"""Where a reminder goes, posting it tagged with its slot id, and finding it again after a crash."""

from __future__ import annotations

import logging

from bot import events
from bot.errors import SlackError
from bot.ports import Message, Tag
from bot.services import Services
from storage import reminder_slots as slots

logger = logging.getLogger(__name__)

#: The tag kind that ties a posted reminder to its slot.
TAG = "reminder"


def channel_for(services: Services, recipient: str) -> str:
    """A person's DM channel, or the channel a ``#C…`` recipient names."""
    if recipient.startswith(slots.CHANNEL):
        return recipient.removeprefix(slots.CHANNEL)
    return services.notifier.dm_channel(recipient)


def post(services: Services, channel: str, reminder_id: int, message: Message) -> str:
    """Post the reminder carrying its slot id; return the message ts."""
    return services.notifier.post(channel, message, tag=Tag(TAG, reminder_id))


def find_posted(services: Services, channel: str, reminder_id: int) -> str | None:
    """The ts of a message for this slot already in ``channel`` (posted by a worker that died
    before recording it), or None.

    Raises SlackError for a transient failure. If certdesk may not read the history
    (missing ``im:history``), it logs that and answers None: a possible double beats a loss.
    """
    try:
        return services.notifier.find_tagged(channel, Tag(TAG, reminder_id))
    except SlackError as exc:
        if exc.retryable:
            raise
        logger.error("cannot read %s to check reminder %s: %s", channel, reminder_id, exc.code)
        return None


def replace(services: Services, channel: str, ts: str, ref: str, state_words: str) -> None:
    """Turn a reminder the order outran into a note that it is out of date (best effort)."""
    notice = services.presenter.notice(events.ReminderOutdated(ref=ref, state_words=state_words))
    try:
        services.notifier.update(channel, ts, notice.main)
    except SlackError:
        logger.warning("could not mark reminder %s in %s out of date", ts, channel)
