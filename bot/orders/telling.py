"""Telling people what happened: the requester, watchers, the team channel, their Home tabs.

Events are worded by the Presenter port and sent by the Notifier port; a person who cannot
be reached (deactivated, an outage after the client's retries) is logged, never fatal for
anyone else. Only the requester's message may raise, so the caller can owe it (see
``bot.orders.announcements``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot import events
from bot.errors import SlackError
from bot.orders.home import refresh_home
from bot.ports import Message, Notice, Tag
from bot.services import Services
from storage import queries

logger = logging.getLogger(__name__)


def people_of(services: Services, order_id: int) -> tuple[str, list[str]]:
    """(requester, watchers) of an order."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        return order.requester_id, [w.user_id for w in order.watchers]


def tell_people(
    services: Services,
    order_id: int,
    event: object,
    *,
    tag: Tag | None = None,
    recheck: bool = False,
) -> None:
    """DM the requester (raises SlackError if that fails), each watcher (plain words, no
    buttons to act), and post the channel line to CERTDESK_NOTIFY_CHANNEL; refresh Homes.

    Each message carries ``tag``; with ``recheck`` (telling again after a failure or a crash
    that may have reached Slack) a conversation that already holds the tagged message is
    skipped. Only the requester's DM can fail the call: a watcher or a channel that cannot be
    reached is logged (and a channel that refuses certdesk is reported to the admins once).
    """
    notice = services.presenter.notice(event)
    requester, watchers = people_of(services, order_id)
    once = _Once(services, tag, recheck)
    once.post(services.notifier.dm_channel(requester), notice.main)
    for watcher in watchers:
        try:
            once.post(services.notifier.dm_channel(watcher), notice.watchers or notice.main)
        except SlackError:
            logger.warning("could not DM watcher %s about order %s", watcher, order_id)
    _post_channel(services, notice, once)
    refresh_homes(services, [requester, *watchers])


class _Once:
    """Posts one tagged message per conversation; on a retry, not where it already is."""

    def __init__(self, services: Services, tag: Tag | None, recheck: bool) -> None:
        self._notifier, self._tag, self._recheck = services.notifier, tag, recheck

    def post(self, channel: str, message: Message) -> None:
        if not (self._recheck and self._tag is not None and self._already(channel, self._tag)):
            self._notifier.post(channel, message, tag=self._tag)

    def _already(self, channel: str, tag: Tag) -> bool:
        """Whether ``tag`` is in the conversation. Raises SlackError for an outage; if
        certdesk may not read the history (no im:history), it logs that and answers False:
        a possible double beats a loss."""
        try:
            return self._notifier.find_tagged(channel, tag) is not None
        except SlackError as exc:
            if exc.retryable:
                raise
            logger.error("cannot read %s to look for %s: %s", channel, tag, exc.code or exc)
            return False


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
    _post_channel(services, services.presenter.notice(event), _Once(services, None, False))


def _post_channel(services: Services, notice: Notice, once: _Once) -> None:
    channel = services.notify_channel()
    if not channel or notice.channel is None:
        return
    try:
        once.post(channel, notice.channel)
    except SlackError as exc:
        # The team channel is a courtesy copy: its failure never holds back the requester's
        # messages and files, nor makes them be sent again.
        logger.warning("could not post to the notify channel %s: %s", channel, exc.code or exc)
        if not exc.retryable:
            _report_unreachable_channel(services, channel, exc.code)


def _report_unreachable_channel(services: Services, channel: str, code: str) -> None:
    """Tell the admins once that CERTDESK_NOTIFY_CHANNEL refuses certdesk's posts."""
    with services.sessions.begin() as session:
        if queries.channel_problem_reported(session, channel):
            return
        queries.record(
            session, order_id=None, actor="system", action="notify_channel_refused",
            channel=channel, error=code,
        )  # fmt: skip
    event = events.NotifyChannelRefused(channel=channel, error=code)
    for admin in sorted(services.admins()):
        tell_person(services, admin, event, required=False)


def refresh_homes(services: Services, users: Sequence[str]) -> None:
    """Publish each user's Home tab as it stands now."""
    for user in dict.fromkeys(users):
        refresh_home(services, user)
