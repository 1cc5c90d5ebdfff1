"""Pages of orders for lists: only the rows shown are read (keyset by id, LIMIT, a separate count).

Every query is a union of a few "branches", each read from one index in id order and cut at
the page size, so a page costs the page, whatever the size of the store. They never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    exists,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, selectinload

from bot import workflow
from storage.models import Order, OrderDomain, Watcher, reversed_labels

#: Orders on a page unless the caller asks for another size.
PAGE_SIZE = 10
#: "Expiring" means issued and ending within this long, unless the caller says otherwise.
EXPIRING_WITHIN = timedelta(days=30)


class StateGroup(StrEnum):
    """The state filters of a list: `/cert list waiting`, `failed`, `expiring`."""

    WAITING = "waiting"  # with the CA: submitted or awaiting domain verification
    FAILED = "failed"
    EXPIRING = "expiring"  # issued, and not_after within `expiring_within`


_STATES: dict[StateGroup, tuple[str, ...]] = {
    StateGroup.WAITING: tuple(sorted(workflow.IN_FLIGHT)),
    StateGroup.FAILED: (workflow.State.FAILED,),
    StateGroup.EXPIRING: (workflow.State.ISSUED,),
}


@dataclass(frozen=True)
class OrderFilter:
    """Which orders a list shows: whose, in which states, under which domain."""

    team_id: str
    user_id: str
    #: Every order of the team (only for admins: the caller decides who is one).
    all_orders: bool = False
    group: StateGroup | None = None
    #: An A-label domain name: the orders naming it or any name under it.
    domain: str | None = None
    #: The clock for `expiring`.
    now: datetime | None = None
    expiring_within: timedelta = EXPIRING_WITHIN


@dataclass(frozen=True)
class OrderPage:
    """One page of orders, newest first, and the cursors to the pages beside it."""

    orders: Sequence[Order]
    #: Pass as ``before=`` for the next older page; None when there is none.
    older: int | None
    #: Pass as ``after=`` for the next newer page; None when there is none.
    newer: int | None


def normalize_domain(text: str) -> str:
    """A domain filter as stored: lower case, no surrounding dots or blanks, no `*.`."""
    name = text.strip().strip(".").lower()
    return name.removeprefix("*.")


def orders_page(
    session: Session,
    wanted: OrderFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> OrderPage:
    """The page of orders older than ``before`` (or newer than ``after``; else the newest)."""
    if before is not None and after is not None:
        raise ValueError("give before= or after=, not both")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    # The edges of this page; on an empty page, the cursor itself (so one can go back).
    older: int | None
    newer: int | None
    if after is not None:
        ids = _ids(session, wanted, after=after, limit=limit + 1)
        newer = max(ids[:limit]) if len(ids) > limit else None
        ids = ids[:limit]
        low = min(ids) if ids else after + 1
        older = low if _ids(session, wanted, before=low, limit=1) else None
    else:
        ids = _ids(session, wanted, before=before, limit=limit + 1)
        older = min(ids[:limit]) if len(ids) > limit else None
        ids = ids[:limit]
        # The newest page has nothing newer (orders made since are seen on the next look).
        high = (max(ids) if ids else before - 1) if before is not None else None
        newer = high if high is not None and _ids(session, wanted, after=high, limit=1) else None
    ids.sort(reverse=True)
    return OrderPage(orders=load_orders(session, ids), older=older, newer=newer)


def count_orders(session: Session, wanted: OrderFilter, *, cap: int | None = None) -> int:
    """How many orders the list holds in all, or ``cap`` if it holds at least that many.

    An exact count reads every matching index entry (all of a team's, for an admin); with a
    cap it stops there, so "1,000+" costs the same in any store.
    """
    return int(session.scalar(count_statement(wanted, cap=cap)) or 0)


def count_statement(wanted: OrderFilter, *, cap: int | None = None) -> Select[int]:
    """The statement counting a list's orders (public so tests can EXPLAIN it)."""
    branches = _branches(wanted)
    if cap is not None:
        branches = [b.limit(cap) for b in branches]
        branches = [select(b.subquery().c[0]) for b in branches]
    merged = union_all(*branches) if len(branches) > 1 else branches[0]
    counted = merged.limit(cap) if cap is not None else merged
    return select(func.count()).select_from(counted.subquery())


def page_ids_statement(
    wanted: OrderFilter, *, before: int | None = None, after: int | None = None, limit: int
) -> Select[int] | CompoundSelect:
    """The statement choosing a page's order ids (public so tests can EXPLAIN it): one
    SELECT, or one UNION ALL of the branches, ordered and cut once.

    Where each branch is read in its index's id order (every list but one by domain or by
    expiry date, which sort what they find either way), the database merges the branches as
    it reads them and stops at ``limit``. Ordered sub-selects around each branch made SQLite
    sort the ids again in a temporary B-tree.
    """
    arms = [
        branch.with_only_columns(column.label("id"))
        for branch, column in _paged_branches(wanted, before=before, after=after)
    ]
    merged = arms[0] if len(arms) == 1 else union_all(*arms)
    ident: ColumnElement[int] = literal_column("id")
    return merged.order_by(ident.desc() if after is None else ident.asc()).limit(limit)


def _paged_branches(
    wanted: OrderFilter, *, before: int | None, after: int | None
) -> list[tuple[Select[int], ColumnElement[int]]]:
    """Each of the list's branches kept to ids older than ``before`` or newer than ``after``,
    with its id column."""
    paged = []
    for branch in _branches(wanted):
        column = branch.selected_columns[0]
        # Where the index is not read in id order, `column + 0` keeps the planner from
        # choosing an id-ordered index that would walk past every row not in the filter.
        key = column + 0 if branch.get_execution_options().get("sorted_after") else column
        if before is not None:
            branch = branch.where(key < before)
        if after is not None:
            branch = branch.where(key > after)
        paged.append((branch, column))
    return paged


def _ids(
    session: Session,
    wanted: OrderFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int,
) -> list[int]:
    stmt = page_ids_statement(wanted, before=before, after=after, limit=limit)
    return list(session.scalars(stmt))


def load_orders(session: Session, ids: Sequence[int]) -> list[Order]:
    """The orders with these ids and what a list or Home entry shows of them, newest first."""
    if not ids:
        return []
    stmt = (
        select(Order)
        .where(Order.id.in_(list(ids)))
        .options(selectinload(Order.domains), selectinload(Order.watchers))
        .order_by(Order.id.desc())
    )
    return list(session.scalars(stmt))


def _branches(wanted: OrderFilter) -> list[Select[int]]:
    """Selects of order ids, each served by one index; their union is the list. No order is
    in two of them, so their union needs no sort to drop duplicates (UNION ALL)."""
    if wanted.domain:
        return [_domain_branch(wanted)]
    team = Order.team_id == wanted.team_id
    if wanted.all_orders and wanted.group is None:
        return [select(Order.id).where(team)]  # ix_orders_team_id_id
    if wanted.group is None:
        # ix_orders_team_requester
        branches = [select(Order.id).where(team, Order.requester_id == wanted.user_id)]
    else:
        # One branch per state, each reading ix_orders_team(_requester)_state in id order,
        # or the range of ix_orders_team_state_not_after for `expiring`.
        whose = [] if wanted.all_orders else [Order.requester_id == wanted.user_id]
        branches = [
            _sorted_after(select(Order.id).where(team, *whose, Order.state == state, *extra))
            if extra
            else select(Order.id).where(team, *whose, Order.state == state)
            for state, extra in _per_state(wanted)
        ]
    if wanted.all_orders:
        return branches
    # ix_watchers_user_order: keyed by watchers.order_id so the index gives ids in order.
    # Orders the user watches and did not request: their own are in the branches above.
    watched = (
        select(Watcher.order_id)
        .join(Order, Order.id == Watcher.order_id)
        .where(
            Watcher.user_id == wanted.user_id,
            team,
            Order.requester_id != wanted.user_id,
            *_state_conditions(wanted),
        )
    )
    return [*branches, watched]


def _sorted_after(stmt: Select[int]) -> Select[int]:
    """Mark a branch whose rows come from a range of another column and are sorted by id."""
    return stmt.execution_options(sorted_after=True)


def _domain_branch(wanted: OrderFilter) -> Select[int]:
    # The name itself, or any name under it: one range of ix_order_domains_reversed_name.
    # ("/" follows "." in byte order; the range also holds e.g. example-x.com, hence the OR.)
    key = reversed_labels(normalize_domain(wanted.domain or ""))
    name = OrderDomain.reversed_name
    stmt = (
        select(OrderDomain.order_id)
        .distinct()
        .join(Order, Order.id == OrderDomain.order_id)
        .where(
            name >= key,
            name < key + "/",
            or_(name == key, name >= key + "."),
            # `|| ''`: orders is reached by primary key from the matching names; an index on
            # team_id would tempt the planner to walk every order of the team instead.
            Order.team_id.concat("") == wanted.team_id,
            *_state_conditions(wanted),
        )
    )
    if not wanted.all_orders:
        watching = exists().where(Watcher.order_id == Order.id, Watcher.user_id == wanted.user_id)
        stmt = stmt.where(or_(Order.requester_id == wanted.user_id, watching))
    return _sorted_after(stmt)


def _state_conditions(wanted: OrderFilter) -> list[ColumnElement[bool]]:
    if wanted.group is None:
        return []
    states = _STATES[wanted.group]
    return [Order.state.in_(states), *_expiry(wanted)]


def _per_state(wanted: OrderFilter) -> list[tuple[str, list[ColumnElement[bool]]]]:
    assert wanted.group is not None
    return [(state, _expiry(wanted)) for state in _STATES[wanted.group]]


def _expiry(wanted: OrderFilter) -> list[ColumnElement[bool]]:
    if wanted.group is not StateGroup.EXPIRING:
        return []
    if wanted.now is None:
        raise ValueError("the expiring filter needs now=")
    return [Order.not_after <= wanted.now + wanted.expiring_within]
