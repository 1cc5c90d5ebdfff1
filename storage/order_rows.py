"""A list's page as plain rows: only the columns a list shows, in one statement a page.

``storage.order_pages`` chooses which orders a page holds; loading them as ``Order`` objects
with their relationships (domains, watchers, the sealed key) cost six statements and most of
a `/cert list`. Here one statement reads the page's orders (the columns a list card shows and
whether a key can be downloaded), the first few domain names of each and the list's count:
on SQLite the whole page in one row of JSON (_page_in_one_row), on PostgreSQL a row per name
(_rows_statement). Either way each order's first names are read in order from the index on
(order, position), so an order of 250 names costs what its first five do.

Building these statements costs more than running them (SQLAlchemy walks the unions and
subqueries each time), so the usual shapes are built once with bound parameters and reused.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import (
    ClauseElement,
    CompoundSelect,
    Connection,
    Executable,
    Integer,
    Result,
    Select,
    String,
    bindparam,
    exists,
    func,
    select,
    true,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.csr_method import certdesk_holds_key
from storage.models import Order, OrderDomain, PrivateKey, format_ref
from storage.order_pages import (
    PAGE_SIZE,
    OrderFilter,
    StateGroup,
    count_statement,
    page_ids_statement,
)

#: Domain names read per order: a list card shows a few and says how many more.
NAMES_SHOWN = 5


class ListedOrder(NamedTuple):
    """One order as a list shows it (read-only; not an ORM object; cheap to make)."""

    id: int
    requester_id: str
    state: str
    product: str
    domain_type: str
    domain_count: int
    validity_days: int
    purchase_ref: str | None
    failure_reason: str | None
    csr_method: str | None
    key_sealed: bool  # a sealed key that is neither purged nor missing
    #: The first NAMES_SHOWN domain names as typed, and how many the order has in all.
    names: tuple[str, ...] = ()
    names_total: int = 0

    @property
    def ref(self) -> str:
        """The ID people see (CD-0042)."""
        return format_ref(self.id)

    @property
    def key_downloadable(self) -> bool:
        """Whether certdesk holds this order's key sealed (as ``Order.key_downloadable``)."""
        return certdesk_holds_key(self.csr_method) and self.key_sealed


@dataclass(frozen=True)
class RowsPage:
    """One page of listed orders, newest first, and the cursors to the pages beside it."""

    orders: Sequence[ListedOrder]
    older: int | None
    newer: int | None
    #: How many orders the list holds in all (``cap`` if at least that many).
    total: int


_KEY_SEALED = (
    exists()
    .where(
        PrivateKey.order_id == Order.id,
        PrivateKey.ciphertext.is_not(None),
        PrivateKey.purged_at.is_(None),
    )
    .label("key_sealed")
)
_COLUMNS = (
    Order.id,
    Order.requester_id,
    Order.state,
    Order.product,
    Order.domain_type,
    Order.domain_count,
    Order.validity_days,
    Order.purchase_ref,
    Order.failure_reason,
    Order.csr_method,
    _KEY_SEALED,
)

# Where a page's row holds what follows _COLUMNS (key_sealed last of them): a name and its
# position (_rows_statement), or all the names shown as [position, name] (_page_in_one_row);
# the last two are the order's count of names and the list's count.
_KEY_SEALED_AT = len(_COLUMNS) - 1
_NAME, _POSITION = len(_COLUMNS), len(_COLUMNS) + 1


def rows_page(
    session: Session | Connection,
    wanted: OrderFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
    cap: int | None = None,
) -> RowsPage:
    """The page ``storage.order_pages.orders_page`` would give, as ``ListedOrder`` rows, and
    ``count_orders(cap=cap)``: one statement for the first page (orders, names and count)."""
    if before is not None and after is not None:
        raise ValueError("give before= or after=, not both")
    if limit < 1:
        raise ValueError("limit must be at least 1")
    connection = session.connection() if isinstance(session, Session) else session
    found, total = _page_orders(
        connection, wanted, before=before, after=after, limit=limit + 1, cap=cap
    )
    ids = sorted(found, reverse=after is None)  # newest first, or oldest first after ``after``
    older: int | None
    newer: int | None
    if after is None:
        older = min(ids[:limit]) if len(ids) > limit else None
        ids = ids[:limit]
        high = (max(ids) if ids else before - 1) if before is not None else None
        newer = high if high is not None and _any(connection, wanted, after=high) else None
    else:
        newer = max(ids[:limit]) if len(ids) > limit else None
        ids = ids[:limit]
        low = min(ids) if ids else after + 1
        older = low if _any(connection, wanted, before=low) else None
    if not ids and (before is not None or after is not None):
        total = count_rows(connection, wanted, cap=cap)  # no row carried the count
    shown = [found[i] for i in (ids if after is None else reversed(ids))]  # newest first
    return RowsPage(orders=shown, older=older, newer=newer, total=total)


def _listed(columns: Sequence[Any], names: Sequence[Any], total: int) -> ListedOrder:
    """An order from its _COLUMNS (key_sealed last of them: 0/1 on SQLite) and its first
    names as (position, name), of ``total`` names."""
    shown = tuple([name for _, name in sorted(names)])
    sealed = columns[_KEY_SEALED_AT]
    return ListedOrder._make((*columns[:_KEY_SEALED_AT], bool(sealed), shown, total or 0))


def count_rows(
    session: Session | Connection, wanted: OrderFilter, *, cap: int | None = None
) -> int:
    """``storage.order_pages.count_orders``, from a statement built once per shape."""
    connection = session.connection() if isinstance(session, Session) else session
    return int(_run(connection, "count", wanted, cap=cap).scalar() or 0)


def _page_orders(
    connection: Connection,
    wanted: OrderFilter,
    *,
    before: int | None,
    after: int | None,
    limit: int,
    cap: int | None,
) -> tuple[dict[int, ListedOrder], int]:
    """A page's orders by id, and the count the statement carried (0 for no orders)."""
    edges: dict[str, Any] = {"before": before, "after": after, "limit": limit, "cap": cap}
    if connection.dialect.name == "sqlite":
        if _built_once(wanted):
            sql, params = _sqlite_sql("page", wanted, **edges)
            packed = _page_json(connection, sql, params)
        else:
            packed = _run(connection, "page", wanted, **edges).scalar_one()
        page = orjson.loads(packed)
        found = {row[0]: _listed(row, row[_NAME], row[-2]) for row in page}
        return found, page[0][-1] if page else 0
    total = 0
    # A row per name (or one with no name): the order's columns, the name and its position,
    # the order's count of names, the list's count.
    rows: dict[int, tuple[Any, list[tuple[int, str]]]] = {}
    for row in _run(connection, "rows", wanted, **edges):
        total = row[-1]
        names = rows.setdefault(row[0], (row, []))[1]
        if row[_NAME] is not None:
            names.append((row[_POSITION], row[_NAME]))
    return {id_: _listed(row, names, row[-2]) for id_, (row, names) in rows.items()}, total


def _built_once(wanted: OrderFilter) -> bool:
    """Whether ``wanted``'s statements are built once (a domain or `expiring` filter's are
    not: they compute their bounds in Python)."""
    return wanted.domain is None and wanted.group is not StateGroup.EXPIRING


def _page_in_one_row(
    ids: Select[Any] | CompoundSelect, *, cap: int | None, wanted: OrderFilter
) -> Executable:
    """The page as one row (SQLite): a JSON array of its orders, each an array of _COLUMNS,
    its first names as [position, name], its count of names and the list's count.

    Python's sqlite3 lets go of the GIL at every row it steps to. Under load each let-go
    hands the GIL to another thread and waits to get it back: for a page's 10 to 50 rows
    that cost more than reading them (a third of a `/cert list` served on 8 threads, most
    of it in the kernel). SQLite's json_group_array packs the page into one row. Each
    order's first names are read by its own index look-ups (correlated sub-selects).
    """
    page = ids.subquery("page")
    first = (
        select(OrderDomain.position, OrderDomain.display)
        .where(OrderDomain.order_id == Order.id)
        .order_by(OrderDomain.position)
        .limit(NAMES_SHOWN)
        .correlate(Order)
        .subquery()
    )
    names = select(
        func.json_group_array(func.json_array(first.c.position, first.c.display))
    ).scalar_subquery()
    names_total = (
        select(func.count()).where(OrderDomain.order_id == Order.id).correlate(Order)
    ).scalar_subquery()
    counted = count_statement(wanted, cap=cap).scalar_subquery()
    one_order = func.json_array(*_COLUMNS, func.json(names), names_total, counted)
    # An outer join, though every id on the page is an order's: with an inner one SQLite
    # copies the page's ids into a temporary table before reading any order.
    return select(func.json_group_array(one_order)).select_from(
        page.outerjoin(Order, Order.id == page.c[0])
    )


def _any(connection: Connection, wanted: OrderFilter, **edge: int) -> bool:
    return _run(connection, "ids", wanted, limit=1, **edge).first() is not None


def _rows_statement(
    ids: Select[Any] | CompoundSelect, *, newest_first: bool, cap: int | None, wanted: OrderFilter
) -> Executable:
    """The page's orders, each with its first names (a row per name), its count of names and
    the list's count (PostgreSQL: each order's first names are a LATERAL read of the index on
    its names in order, so an order of 250 names reads five names and counts the rest)."""
    first = (
        select(OrderDomain.display, OrderDomain.position)
        .where(OrderDomain.order_id == Order.id)
        .order_by(OrderDomain.position)
        .limit(NAMES_SHOWN)
        .lateral("first_names")
    )
    # Joined, not a sub-select in the columns: that would count an order's names once for
    # each of its rows (five times).
    names_total = (
        select(func.count().label("names_total"))
        .where(OrderDomain.order_id == Order.id)
        .lateral("names_count")
    )
    counted = count_statement(wanted, cap=cap).scalar_subquery().label("total")
    order = Order.id.desc() if newest_first else Order.id.asc()
    rows: Executable = (
        select(*_COLUMNS, first.c.display, first.c.position, names_total.c.names_total, counted)
        .select_from(Order)
        .join(names_total, true())
        .outerjoin(first, true())
        .where(Order.id.in_(ids))
        .order_by(order, first.c.position)
    )
    return rows


# Bound parameters standing in for a filter's values in a statement built once (the builders
# in storage.order_pages only compare these values, so a parameter works in their place).
# Each has a placeholder value only so the statement compiles to SQL text (see _prepared);
# _statement always passes the real ones.
_TEAM = cast(str, bindparam("team", "", type_=String))
_USER = cast(str, bindparam("user", "", type_=String))
_BEFORE = cast(int, bindparam("before", 0, type_=Integer))
_AFTER = cast(int, bindparam("after", 0, type_=Integer))


def _run(
    connection: Connection,
    kind: str,
    wanted: OrderFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 1,
    cap: int | None = None,
) -> Result[Any]:
    """Run the statement for ``kind`` ("page", "rows", "ids" or "count") for ``wanted``.

    A domain or `expiring` filter computes its bounds in Python, so those are built afresh;
    every other shape is built once, and on SQLite also compiled once.
    """
    if not _built_once(wanted):
        built = _build(kind, wanted, before=before, after=after, limit=limit, cap=cap)
        return connection.execute(built)
    if connection.dialect.name != "sqlite":
        # PostgreSQL's SQL carries casts (`:team::VARCHAR`) that SQL text cannot take.
        shape = _shape(wanted, before=before, after=after)
        params = _values(wanted, before=before, after=after)
        return connection.execute(_shaped(kind, *shape, limit=limit, cap=cap), params)
    sql, params = _sqlite_sql(kind, wanted, before=before, after=after, limit=limit, cap=cap)
    return connection.exec_driver_sql(sql, params)  # sqlite3 takes :names


def _page_json(connection: Connection, sql: str, params: dict[str, Any]) -> str:
    """The one row of ``_page_in_one_row`` (SQLite, a shape built once, as ``_sqlite_sql``
    gives it), read on the driver's own cursor: SQLAlchemy's result set-up cost as much as
    SQLite's work."""
    driver: Any = connection.connection.driver_connection
    try:
        cursor = driver.execute(sql, params)
        try:
            return str(cursor.fetchone()[0])
        finally:
            cursor.close()
    except connection.dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy would raise it (a locked file: OperationalError, told in words), and
        # a connection that is gone leaves the pool as SQLAlchemy would have it leave.
        gone = connection.dialect.is_disconnect(error, driver, None)
        if gone:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql,
            params,
            error,
            connection.dialect.loaded_dbapi.Error,
            connection_invalidated=gone,
            dialect=connection.dialect,
        ) from error


def _sqlite_sql(
    kind: str,
    wanted: OrderFilter,
    *,
    before: int | None,
    after: int | None,
    limit: int,
    cap: int | None,
) -> tuple[str, dict[str, Any]]:
    """The SQL text of a shape built once, compiled for SQLite, and its parameters."""
    shape = _shape(wanted, before=before, after=after)
    sql, fixed = _prepared(kind, *shape, limit=limit, cap=cap)
    return sql, {**fixed, **_values(wanted, before=before, after=after)}


def _shape(
    wanted: OrderFilter, *, before: int | None, after: int | None
) -> tuple[bool, StateGroup | None, bool, bool]:
    """What picks a statement built once for ``wanted`` (its values are parameters)."""
    return wanted.all_orders, wanted.group, before is not None, after is not None


def _values(wanted: OrderFilter, *, before: int | None, after: int | None) -> dict[str, Any]:
    """The values of the parameters standing in for ``wanted``'s (see _TEAM and others)."""
    values: dict[str, Any] = {"team": wanted.team_id, "user": wanted.user_id}
    if before is not None:
        values["before"] = before
    if after is not None:
        values["after"] = after
    return values


@functools.cache
def _prepared(
    kind: str,
    all_orders: bool,
    group: StateGroup | None,
    has_before: bool,
    has_after: bool,
    *,
    limit: int,
    cap: int | None,
) -> tuple[str, dict[str, Any]]:
    """The shape's statement compiled once for SQLite, as SQL with named parameters,
    and the values of the parameters the statement itself fixes (its LIMITs).

    Executing a statement object costs SQLAlchemy a compile-cache look-up and result set-up
    that, for these unions, took longer than SQLite's own work; the driver's SQL skips both.
    """
    shaped = _shaped(kind, all_orders, group, has_before, has_after, limit=limit, cap=cap)
    named = sqlite.dialect(paramstyle="named")
    compiled = cast(ClauseElement, shaped).compile(
        dialect=named, compile_kwargs={"render_postcompile": True}
    )
    fixed = {name: value for name, value in compiled.params.items() if value is not None}
    return str(compiled), fixed


@functools.cache
def _shaped(
    kind: str,
    all_orders: bool,
    group: StateGroup | None,
    has_before: bool,
    has_after: bool,
    *,
    limit: int,
    cap: int | None,
) -> Executable:
    template = OrderFilter(team_id=_TEAM, user_id=_USER, all_orders=all_orders, group=group)
    return _build(
        kind,
        template,
        before=_BEFORE if has_before else None,
        after=_AFTER if has_after else None,
        limit=limit,
        cap=cap,
    )


def _build(
    kind: str,
    wanted: OrderFilter,
    *,
    before: int | None,
    after: int | None,
    limit: int,
    cap: int | None,
) -> Executable:
    if kind == "count":
        return count_statement(wanted, cap=cap)
    ids = page_ids_statement(wanted, before=before, after=after, limit=limit)
    if kind == "ids":
        return ids
    if kind == "page":
        return _page_in_one_row(ids, cap=cap, wanted=wanted)
    return _rows_statement(ids, newest_first=after is None, cap=cap, wanted=wanted)
