"""Watchers: colleagues the owner (or an admin) lets follow an order without changing it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import workflow
from bot.access import Need
from bot.errors import FieldErrors, IllegalTransition
from bot.orders.home import refresh_home
from bot.orders.lookup import load
from bot.orders.reminding import follow_watchers
from bot.services import Services
from bot.views import ids
from storage import queries
from storage.models import Order, Watcher, utcnow

logger = logging.getLogger(__name__)

#: More watchers than this is a channel's job (CERTDESK_NOTIFY_CHANNEL), not a DM fan-out.
MAX_WATCHERS = 20


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
                    ids.WATCHER_USERS: f"<@{order.requester_id}> owns {order.ref} and already "
                    "gets its updates; leave them out of the watchers."
                }
            )
        if len(chosen) > MAX_WATCHERS:
            raise FieldErrors(
                {
                    ids.WATCHER_USERS: f"{len(chosen)} watchers is too many (at most "
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
        follow_watchers(session, order, added=added, removed=removed, now=utcnow())
        return WatcherChange(
            order_id=order.id,
            ref=order.ref,
            owner=order.requester_id,
            actor=user_id,
            added=added,
            removed=removed,
        )


def tell_watchers(services: Services, change: WatcherChange) -> None:
    """DM each new watcher who added them (and each removed one); refresh everyone's Home."""
    ref = change.ref
    for watcher_id in change.added:
        by = "" if change.actor == change.owner else f" on behalf of <@{change.owner}>"
        _dm(
            services,
            watcher_id,
            f":eyes: <@{change.actor}> added you as a watcher of order *{ref}*{by}. You'll get "
            f"its updates here and can see it with `/cert status {ref}`; only its owner "
            "can change it.",
        )
    for watcher_id in change.removed:
        _dm(
            services,
            watcher_id,
            f"<@{change.actor}> removed you from the watchers of order *{ref}*; "
            "you won't get its updates any more.",
        )
    for user in {change.owner, change.actor, *change.added, *change.removed}:
        refresh_home(services, user)


def _dm(services: Services, user_id: str, text: str) -> None:
    try:
        services.notifier.dm(user_id, text=text)
    except SlackApiError as exc:
        # A deactivated or external user cannot be DMed; the change itself stands.
        logger.warning("could not DM %s about watching: %s", user_id, exc.response.get("error"))


def _record(session: Session, order_id: int, actor: str, action: str, watcher: str) -> None:
    queries.record(session, order_id=order_id, actor=actor, action=action, watcher=watcher)


def _require_alive(order: Order) -> None:
    if order.state in workflow.FINAL:
        raise IllegalTransition(
            f"{order.ref} is {workflow.describe(order.state)}; there is nothing left to watch."
        )
