"""Finding orders a user may see or act on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot import access, teams
from bot.access import Need
from bot.errors import NotAllowed
from bot.list_query import ListQuery
from bot.services import Services
from storage import kept_connection, order_pages, order_rows, queries
from storage.models import Order, utcnow


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


@dataclass(frozen=True)
class ListResult:
    """One page of `/cert list`, how many orders the list holds, and what was asked."""

    page: order_rows.RowsPage
    total: int
    query: ListQuery


#: Counting stops here, so a huge store answers "1000+" at the cost of a small one.
COUNT_CAP = 1000


def list_page(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    query: ListQuery,
    before: int | None = None,
    after: int | None = None,
) -> ListResult:
    """A page of the orders the user may see that match ``query`` (only admins see all)."""
    admin = services.is_admin(user_id)
    if query.scope == "all" and not admin:
        raise NotAllowed("Only certdesk admins can list every order; `/cert list` shows yours.")
    wanted = order_pages.OrderFilter(
        team_id=team_id,
        user_id=user_id,
        all_orders=query.scope == "all" or (query.scope is None and admin),
        group=order_pages.StateGroup(query.group) if query.group else None,
        domain=query.domain,
        now=utcnow(),
    )
    # Plain rows of the columns a list shows, read on a connection (no ORM session: nothing
    # is loaded as objects, and the session's own set-up cost more than the read); the SQLite
    # reads thread keeps its connection from one read to the next (storage.kept_connection).
    with kept_connection.reading(services.engine) as connection:
        page = order_rows.rows_page(connection, wanted, before=before, after=after, cap=COUNT_CAP)
    return ListResult(page=page, total=page.total, query=query)
