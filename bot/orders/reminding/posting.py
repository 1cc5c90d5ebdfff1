"""Where a reminder goes, posting it tagged with its slot id, and finding it again after a crash."""

from __future__ import annotations

import logging

from bot import events
from bot.errors import SlackError
from bot.orders.sender import look_up
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
    before recording it), or None (``bot.orders.sender.look_up``: raises SlackError for a
    transient failure; a history certdesk may not read answers None)."""
    tag = Tag(TAG, reminder_id)
    return look_up(
        lambda: services.notifier.find_tagged(channel, tag), about=f"reminder {reminder_id}"
    )


def replace(services: Services, channel: str, ts: str, ref: str, state_words: str) -> None:
    """Turn a reminder the order outran into a note that it is out of date (best effort)."""
    notice = services.presenter.notice(events.ReminderOutdated(ref=ref, state_words=state_words))
    try:
        services.notifier.update(channel, ts, notice.main)
    except SlackError:
        logger.warning("could not mark reminder %s in %s out of date", ts, channel)
