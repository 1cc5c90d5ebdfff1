"""Telling people what happened: the requester, watchers, the team channel, their Home tabs.

Events are worded by the Presenter port and sent by the Notifier port; a person who cannot
be reached (deactivated, an outage after the client's retries) is logged, never fatal for
anyone else. Only the requester's message may raise, so the caller can owe it (see
``bot.orders.announcements``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.errors import SlackError
from bot.orders.home import refresh_home
from bot.ports import Notice
from bot.services import Services
from storage import queries

logger = logging.getLogger(__name__)


def people_of(services: Services, order_id: int) -> tuple[str, list[str]]:
    """(requester, watchers) of an order."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        return order.requester_id, [w.user_id for w in order.watchers]


def tell_people(services: Services, order_id: int, event: object) -> None:
    """DM the requester (raises SlackError if that fails), each watcher (plain words, no
    buttons to act), and post the channel line to CERTDESK_NOTIFY_CHANNEL; refresh Homes."""
    notice = services.presenter.notice(event)
    requester, watchers = people_of(services, order_id)
    services.notifier.dm(requester, notice.main)
    for watcher in watchers:
        try:
            services.notifier.dm(watcher, notice.watchers or notice.main)
        except SlackError:
            logger.warning("could not DM watcher %s about order %s", watcher, order_id)
    _post_channel(services, notice)
    refresh_homes(services, [requester, *watchers])


def tell_person(services: Services, user_id: str, event: object, *, required: bool = True) -> None:
    """DM one person; with ``required=False`` a failure is logged instead of raised."""
    try:
        services.notifier.dm(user_id, services.presenter.notice(event).main)
    except SlackError as exc:
        if required:
            raise
        logger.warning("could not DM %s: %s", user_id, exc.code or exc)


def tell_channel(services: Services, event: object) -> None:
    """Post the event's channel line to CERTDESK_NOTIFY_CHANNEL, if both exist."""
    _post_channel(services, services.presenter.notice(event))


def _post_channel(services: Services, notice: Notice) -> None:
    channel = services.notify_channel()
    if channel and notice.channel is not None:
        services.notifier.post(channel, notice.channel)


def refresh_homes(services: Services, users: Sequence[str]) -> None:
    """Publish each user's Home tab as it stands now."""
    for user in dict.fromkeys(users):
        refresh_home(services, user)
