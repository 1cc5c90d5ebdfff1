"""Stores for Home tests: orders inserted in bulk, and a count of what a piece of work reads."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, insert, text

from bot.devtools.seed_orders import analyze, select_max_id
from storage.models import Order, OrderDomain, Watcher, utcnow


def add_orders(
    engine: Engine,
    states: Sequence[str],
    *,
    team_id: str,
    requester_id: str,
    watchers: Sequence[str] = (),
    failure_reason: str | None = None,
) -> list[int]:
    """Insert one order per state (in that order, so later ones are newer); their ids."""
    now = utcnow()
    first = select_max_id(engine) + 1
    ids = list(range(first, first + len(states)))
    with engine.begin() as connection:
        rows = [
            dict(
                id=order_id,
                team_id=team_id,
                requester_id=requester_id,
                product="dv",
                domain_type="single",
                domain_count=1,
                validity_days=90,
                state=state,
                failure_reason=failure_reason,
                created_at=now,
                updated_at=now,
                version=1,
                poll_failures=0,
            )
            for order_id, state in zip(ids, states, strict=True)
        ]
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Order), rows[start : start + 5000])
        names = [
            dict(order_id=i, position=0, name=f"o{i}.example.com", display=f"o{i}.example.com")
            for i in ids
        ]
        for start in range(0, len(names), 5000):
            connection.execute(insert(OrderDomain), names[start : start + 5000])
        if watchers:
            connection.execute(
                insert(Watcher),
                [dict(order_id=i, user_id=w, added_by=requester_id) for i in ids for w in watchers],
            )
        if engine.dialect.name == "postgresql":
            # Explicit ids do not move the sequence; an order made normally must not clash.
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('orders', 'id'), max(id)) FROM orders")
            )
    analyze(engine)
    return ids


@dataclass
class Reads:
    """What ran while counting: statements sent, orders built, and SQLite VM steps."""

    statements: int = 0
    orders_loaded: int = 0
    #: SQLite's virtual machine instructions (in thousands): the work a statement did,
    #: rows walked included. Zero on PostgreSQL.
    vm_kilosteps: int = 0
    sql: list[str] = field(default_factory=list)


@contextmanager
def reads(engine: Engine) -> Iterator[Reads]:
    """Count what the database is asked for inside the block (not how long it takes)."""
    counted = Reads()

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counted.statements += 1
        counted.sql.append(statement)

    def on_load(_target: Any, _context: Any) -> None:
        counted.orders_loaded += 1

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        _watch_steps(dbapi_connection, counted)

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(Order, "load", on_load)
    event.listen(engine, "connect", on_connect)
    # Connections already in the pool are counted too.
    engine.dispose()
    try:
        yield counted
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(Order, "load", on_load)
        event.remove(engine, "connect", on_connect)
        engine.dispose()


def _watch_steps(dbapi_connection: Any, counted: Reads) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return

    def step() -> int:
        counted.vm_kilosteps += 1
        return 0  # go on

    dbapi_connection.set_progress_handler(step, 1000)
