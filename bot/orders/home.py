"""The App Home tab: which orders a person sees there, publishing it, and event dedupe."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot import teams as serving
from bot.errors import SlackError
from bot.services import Services
from storage import approvals as requests
from storage import queries, workspaces
from storage.models import Order, ProcessedEvent, format_ref, utcnow

logger = logging.getLogger(__name__)

#: Slack retries an event for about an hour at most; ids older than a day can go.
_KEEP_EVENT_IDS = timedelta(days=1)


def home_orders(services: Services, *, user_id: str, team_id: str | None = None) -> Sequence[Order]:
    """Orders shown on the user's Home: owned or watched; every order for admins."""
    with services.sessions.begin() as session:
        # The refresh hook knows only the user. With many workspaces (OAuth) the one being
        # served is known (bot.teams); with one, the user's orders of every team are shown.
        team_id = team_id or serving.current()
        teams = [team_id] if team_id else queries.teams_with_orders(session)
        found: list[Order] = []
        for team in teams:
            found += queries.orders_visible_to(
                session, team_id=team, user_id=user_id, all_orders=services.is_admin(user_id)
            )
        return sorted(found, key=lambda o: o.id, reverse=True)


def refresh_home(services: Services, user_id: str, *, team_id: str | None = None) -> None:
    """Publish the user's Home tab as it stands now."""
    orders = home_orders(services, user_id=user_id, team_id=team_id)
    admin = services.is_admin(user_id)
    team = team_id or serving.current()
    with services.sessions.begin() as session:
        approvals = [
            (format_ref(r.order_id), r.order_id, r.requested_by, r.requested_at)
            for r in requests.waiting_for(session, user_id=user_id, everyone=admin)
            if team is None or workspaces.team_of_order(session, r.order_id) == team
        ]
    view = services.presenter.home(orders, user_id=user_id, admin=admin, approvals=approvals)
    try:
        services.notifier.publish_home(user_id, view)
    except SlackError as exc:
        # A stale Home is shown again fresh next time it is opened; never fail a notice for it.
        logger.warning("could not publish Home for %s: %s", user_id, exc.code or exc)


def first_delivery(services: Services, event_id: str) -> bool:
    """Record an Events API delivery; False when ``event_id`` was handled before (a retry)."""
    if not event_id:
        return True
    try:
        with services.sessions.begin() as session:
            session.add(ProcessedEvent(event_id=event_id))
    except IntegrityError:
        return False
    with services.sessions.begin() as session:
        queries.forget_events_before(session, utcnow() - _KEEP_EVENT_IDS)
    return True
