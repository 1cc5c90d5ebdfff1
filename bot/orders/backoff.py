"""Waiting out a CA outage: the time between polls of an order doubles with each failure."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.services import Services
from storage import queries
from storage.models import Order

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: The longest a CA outage stretches the time between polls of one order.
MAX_BACKOFF = timedelta(hours=1)
#: Attempts at one change when another writer changed the order meanwhile.
_WRITE_ATTEMPTS = 3


def back_off(services: Services, order_id: int, *, problem: str, now: datetime) -> timedelta:
    """Poll again later after a CA outage: the interval doubles with each failure, capped."""
    interval = services.settings.poll_interval
    cap = max(MAX_BACKOFF, interval)

    def change(session: Session, order: Order) -> timedelta:
        failures = order.poll_failures or 0
        delay = min(interval * (2 ** min(failures, 20)), cap)
        order.poll_failures = failures + 1
        order.next_poll_at = now + delay
        if failures == 0:  # the first failure of a run is news; the rest would flood the trail
            queries.record(
                session,
                order_id=order_id,
                actor="system",
                action="ca_unreachable",
                problem=problem[:500],
                retry_in_seconds=int(delay.total_seconds()),
            )
        return delay

    delay = write_locked(services, order_id, change)
    logger.warning("CA unreachable for order %s; polling again in %s", order_id, delay)
    return delay or interval


def write_locked(
    services: Services, order_id: int, change: Callable[[Session, Order], T | None]
) -> T | None:
    """Run ``change`` on the locked order and commit; on a concurrent write, re-read and retry."""
    for _ in range(_WRITE_ATTEMPTS):
        try:
            with services.sessions.begin() as session:
                order = queries.get_order(session, order_id, for_update=True)
                if order is None:
                    return None
                return change(session, order)
        except StaleDataError:
            logger.info("order %s changed while being written; reading it again", order_id)
    return None
