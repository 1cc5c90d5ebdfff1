"""Finding orders a user may see or act on."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from bot import access, teams
from bot.access import Need
from bot.services import Services
from storage import queries
from storage.models import Order


def load(
    session: Session,
    services: Services,
    order_id: int,
    *,
    user_id: str,
    need: Need,
    for_update: bool = False,
) -> Order:
    """Load an order inside the caller's transaction, checking the user may ``need`` it."""
    order = queries.get_order(session, order_id, for_update=for_update)
    team = teams.current()
    if order is not None and team is not None and order.team_id != team:
        # Another workspace's order (a replayed or forged payload): it does not exist here.
        order = None
    return access.check(
        order,
        order_id,
        user_id=user_id,
        need=need,
        admins=services.admins(order.team_id if order else None),
    )


def order_for(services: Services, order_id: int, *, user_id: str, need: Need = Need.VIEW) -> Order:
    """One order, if the user may see (or act on) it."""
    with services.sessions.begin() as session:
        return load(session, services, order_id, user_id=user_id, need=need)


def list_orders(services: Services, *, team_id: str, user_id: str) -> Sequence[Order]:
    """Orders the user owns or watches; every order of the team for admins."""
    with services.sessions.begin() as session:
        return queries.orders_visible_to(
            session, team_id=team_id, user_id=user_id, all_orders=services.is_admin(user_id)
        )
