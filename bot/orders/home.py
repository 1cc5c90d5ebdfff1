"""The App Home tab: which orders a person sees there, publishing it, and event dedupe."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import teams as serving
from bot.errors import SlackError
from bot.services import Services
from storage import home_pages, order_pages, queries
from storage.home_pages import HOME_GROUPS, GroupCount, HomeScope
from storage.models import Order, format_ref

logger = logging.getLogger(__name__)

#: At most this many orders on the Home, what needs the person first. The view fits them in
#: Slack's 100 blocks beside the approvals, each group's heading and its "more" line.
SHOWN = 30
#: Approvals shown on the Home; `/cert approvals` lists them all.
SHOWN_APPROVALS = 5


@dataclass(frozen=True)
class HomeOrders:
    """What a Home shows: the orders read (newest first) and how many each group holds."""

    orders: Sequence[Order]
    counts: Mapping[str, GroupCount] = field(default_factory=dict)


def home_orders(
    services: Services, *, user_id: str, team_id: str | None = None, shown: int = SHOWN
) -> HomeOrders:
    """The orders on the user's Home (owned or watched; every order for admins): per group
    only the ones shown, group by group while room is left, and a capped count of each."""
    admin = services.is_admin(user_id)  # (with many workspaces, a read of its own)
    with services.sessions.begin() as session:
        return _read_orders(session, _scope(session, user_id, team_id, admin=admin), shown)


def refresh_home(services: Services, user_id: str, *, team_id: str | None = None) -> None:
    """Publish the user's Home tab as it stands now."""
    view = home_tab(services, user_id, team_id=team_id)
    try:
        services.notifier.publish_home(user_id, view)
    except SlackError as exc:
        # A stale Home is shown again fresh next time it is opened; never fail a notice for it.
        logger.warning("could not publish Home for %s: %s", user_id, exc.code or exc)


def home_tab(services: Services, user_id: str, *, team_id: str | None = None) -> Mapping[str, Any]:
    """The user's Home tab as it stands now, rendered by the presenter (not yet published)."""
    admin = services.is_admin(user_id)
    team = team_id or serving.current()
    with services.sessions.begin() as session:
        found = _read_orders(session, _scope(session, user_id, team, admin=admin), SHOWN)
        waiting, total = home_pages.waiting_approvals(
            session,
            teams=[team] if team else None,
            user_id=user_id,
            everyone=admin,
            limit=SHOWN_APPROVALS,
        )
        approvals = [
            (format_ref(r.order_id), r.order_id, r.requested_by, r.requested_at) for r in waiting
        ]
    return services.presenter.home(
        found.orders,
        user_id=user_id,
        admin=admin,
        approvals=approvals,
        approvals_total=total,
        counts=found.counts,
    )


def _scope(session: Session, user_id: str, team_id: str | None, *, admin: bool) -> HomeScope:
    # The refresh hook knows only the user. With many workspaces (OAuth) the one being
    # served is known (bot.teams); with one, the user's orders of every team are shown.
    team_id = team_id or serving.current()
    teams = (team_id,) if team_id else tuple(home_pages.teams_with_orders(session))
    return HomeScope(teams=teams, user_id=user_id, all_orders=admin)


def _read_orders(session: Session, scope: HomeScope, shown: int) -> HomeOrders:
    ids: list[int] = []
    counts: dict[str, GroupCount] = {}
    for key, states in HOME_GROUPS:
        counts[key] = home_pages.count_group(session, scope, states)
        if counts[key].total and len(ids) < shown:
            ids += home_pages.group_ids(session, scope, states, limit=shown - len(ids))
    return HomeOrders(orders=order_pages.load_orders(session, ids), counts=counts)


def first_delivery(services: Services, event_id: str) -> bool:
    """Record an Events API delivery; False when ``event_id`` was handled before (a retry)."""
    try:
        with services.sessions.begin() as session:
            return queries.record_event(session, event_id)
    except IntegrityError:
        return False
