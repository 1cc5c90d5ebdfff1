"""Telling the people of an order what happened: the requester, watchers and the team channel."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.orders.home import refresh_home
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
) -> None:
    """DM the requester (with ``blocks``), each watcher (plain words, no buttons to act), and
    post ``channel_text`` to CERTDESK_NOTIFY_CHANNEL. Never put secrets in any of them."""
    requester, watchers = people_of(services, order_id)
    services.notifier.dm(requester, text=text, blocks=blocks)
    for watcher in watchers:
        try:
            services.notifier.dm(watcher, text=watcher_text or f"(You watch this order.) {text}")
        except SlackApiError:
            logger.warning("could not DM watcher %s about order %s", watcher, order_id)
    if channel_text and services.settings.notify_channel:
        services.notifier.post(services.settings.notify_channel, text=channel_text)
    for user in {requester, *watchers}:
        refresh_home(services, user)
