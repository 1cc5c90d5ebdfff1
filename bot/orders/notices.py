"""Telling the people of an order what happened: the requester, watchers and the team channel."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.orders.home import refresh_home
from bot.orders.posted import find_notice, notice_metadata
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
    *,
    text: str,
    blocks: Sequence[Block | dict] = (),
    watcher_text: str | None = None,
    channel_text: str | None = None,
    notice: str | None = None,
    recheck: bool = False,
) -> None:
    """DM the requester (with ``blocks``), each watcher (plain words, no buttons to act), and
    post ``channel_text`` to CERTDESK_NOTIFY_CHANNEL. Never put secrets in any of them.

    ``notice`` names the message in its metadata; with ``recheck`` (a retry after a crash) a
    conversation that already holds it is skipped.
    """
    requester, watchers = people_of(services, order_id)
    once = _Once(services, order_id, notice, recheck)
    once.post(services.notifier.dm_channel(requester), text=text, blocks=blocks)
    for watcher in watchers:
        try:
            once.post(
                services.notifier.dm_channel(watcher),
                text=watcher_text or f"(You watch this order.) {text}",
            )
        except SlackApiError:
            logger.warning("could not DM watcher %s about order %s", watcher, order_id)
    if channel_text and services.settings.notify_channel:
        once.post(services.settings.notify_channel, text=channel_text)
    for user in {requester, *watchers}:
        refresh_home(services, user)


class _Once:
    """Posts one notice, tagged with its metadata; on a retry, not where it already is."""

    def __init__(self, services: Services, order_id: int, notice: str | None, recheck: bool):
        self._services, self._order_id, self._notice = services, order_id, notice
        self._recheck = recheck and notice is not None
        self._metadata = notice_metadata(order_id, notice) if notice else None

    def post(self, channel: str, *, text: str, blocks: Sequence[Block | dict] = ()) -> None:
        if self._recheck and self._notice is not None:
            found = find_notice(
                self._services, channel, order_id=self._order_id, notice=self._notice
            )
            if found is not None:
                return
        self._services.notifier.post(channel, text=text, blocks=blocks, metadata=self._metadata)
