"""Watchers: colleagues the owner (or an admin) lets follow an order without changing it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot import events, workflow
from bot.access import Need
from bot.errors import FieldErrors, IllegalTransition
from bot.orders.announcements import announce
from bot.orders.lookup import load
from bot.orders.reminding import follow_watchers
from bot.orders.telling import owe_person, refresh_homes
from bot.services import Services
from bot.watching import MAX_WATCHERS, WATCHER_USERS
from storage import queries
from storage.models import Order, Watcher, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatcherChange:
    """Who was added to and removed from an order's watchers, and by whom."""

    order_id: int
    ref: str
    owner: str
    actor: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


def open_watchers(services: Services, order_id: int, *, user_id: str) -> Order:
    """The order whose watchers ``user_id`` wants to manage (owner or admin, order still alive)."""
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT)
        _require_alive(order)
        return order


def set_watchers(
    services: Services, order_id: int, *, user_id: str, wanted: Sequence[str]
) -> WatcherChange:
    """Make ``wanted`` the order's watchers; audit each addition and removal.

    Raises FieldErrors keyed by the watcher input when the list names the owner or is too long.
    """
    chosen = list(dict.fromkeys(u.strip() for u in wanted if u and u.strip()))
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT, for_update=True)
        _require_alive(order)
        if order.requester_id in chosen:
            raise FieldErrors(
                {
                    WATCHER_USERS: f"<@{order.requester_id}> owns {order.ref} and already "
                    "gets its updates; leave them out of the watchers."
                }
            )
        if len(chosen) > MAX_WATCHERS:
            raise FieldErrors(
                {
                    WATCHER_USERS: f"{len(chosen)} watchers is too many (at most "
                    f"{MAX_WATCHERS}); for a whole team, ask for a notify channel instead."
                }
            )
        current = {w.user_id: w for w in order.watchers}
        added = tuple(u for u in chosen if u not in current)
        removed = tuple(u for u in current if u not in chosen)
        for watcher_id in removed:
            order.watchers.remove(current[watcher_id])
            _record(session, order.id, user_id, "watcher_removed", watcher_id)
        for watcher_id in added:
            order.watchers.append(Watcher(user_id=watcher_id, added_by=user_id))
            _record(session, order.id, user_id, "watcher_added", watcher_id)
        session.flush()
        now = utcnow()
        follow_watchers(session, order, added=added, removed=removed, now=now)
        # Owed with the change: a Slack outage delays these DMs instead of losing them.
        for watcher_id in added:
            event = events.WatcherAdded(ref=order.ref, actor=user_id, owner=order.requester_id)
            owe_person(session, services, order, watcher_id, event, now=now)
        for watcher_id in removed:
            gone = events.WatcherRemoved(ref=order.ref, actor=user_id)
            owe_person(session, services, order, watcher_id, gone, now=now)
        return WatcherChange(
            order_id=order.id,
            ref=order.ref,
            owner=order.requester_id,
            actor=user_id,
            added=added,
            removed=removed,
        )


def tell_watchers(services: Services, change: WatcherChange) -> None:
    """Send the DMs the change owed (each new watcher who added them, each removed one);
    refresh everyone's Home."""
    announce(services, change.order_id, homes=False)
    refresh_homes(services, [change.owner, change.actor, *change.added, *change.removed])


def _record(session: Session, order_id: int, actor: str, action: str, watcher: str) -> None:
    queries.record(session, order_id=order_id, actor=actor, action=action, watcher=watcher)


def _require_alive(order: Order) -> None:
    if order.state in workflow.FINAL:
        raise IllegalTransition(
            f"{order.ref} is {workflow.describe(order.state)}; there is nothing left to watch."
        )
