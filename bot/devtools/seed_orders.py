"""Fill a store with many realistic orders fast (bulk inserts), for benchmarks and plan tests."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from bot import workflow
from storage.models import (
    DeliveredFile,
    Delivery,
    Order,
    OrderDomain,
    Reminder,
    Watcher,
    reversed_labels,
)

S = workflow.State
#: The share of each state in a store that has run for a while: most orders are issued.
STATE_MIX: list[tuple[str, int]] = [
    (S.ISSUED, 66),
    (S.EXPIRED, 10),
    (S.FAILED, 5),
    (S.SUBMITTED, 4),
    (S.AWAITING_VERIFICATION, 5),
    (S.PURCHASED, 6),
    (S.CANCELLED, 3),
    (S.REVOKED, 1),
]


@dataclass(frozen=True)
class Store:
    """What was seeded: the team, a person with `own` orders, and everyone else."""

    team_id: str
    user_id: str
    own: int
    total: int


def seed(
    engine: Engine,
    *,
    orders: int,
    own: int = 30,
    team_id: str = "T0SEED",
    user_id: str = "U0SEEDOWN",
    other_teams: int = 0,
    watched: int = 5,
    now: datetime | None = None,
    batch: int = 5000,
    seed_value: int = 11,
) -> Store:
    """Insert ``orders`` orders (``own`` of them ``user_id``'s) with domains and some watchers.

    With ``other_teams``, orders are spread over that many more workspaces too; ``user_id``
    watches ``watched`` orders of others in ``team_id``.
    """
    now = now or datetime.now(UTC)
    rng = random.Random(seed_value)
    states = [s for s, weight in STATE_MIX for _ in range(weight)]
    start = int(select_max_id(engine)) + 1
    teams = [team_id] + [f"{team_id}X{n}" for n in range(other_teams)]
    mine = set(rng.sample(range(orders), min(own, orders)))
    watching = set(rng.sample(range(orders), min(watched, orders))) - mine
    for first in range(0, orders, batch):
        rows, watchers = [], []
        names: list[dict[str, Any]] = []
        for i in range(first, min(first + batch, orders)):
            order_id = start + i
            state = rng.choice(states)
            requester = user_id if i in mine else f"U{rng.randrange(1000):05d}"
            team = team_id if i in mine or i in watching else teams[i % len(teams)]
            issued = state in (S.ISSUED, S.EXPIRED, S.REVOKED)
            rows.append(
                dict(
                    id=order_id,
                    team_id=team,
                    requester_id=requester,
                    product=rng.choice(("dv", "ov", "ev")),
                    domain_type="multi",
                    domain_count=2,
                    validity_days=200,
                    state=state,
                    not_after=_not_after(rng, state, now) if issued else None,
                    created_at=now,
                    updated_at=now,
                    version=1,
                    poll_failures=0,
                )
            )
            names += (name_row(order_id, p, name) for p, name in enumerate(_names(rng, i)))
            if i in watching or rng.random() < 0.1:
                watchers.append(
                    dict(
                        order_id=order_id,
                        user_id=user_id if i in watching else f"U{rng.randrange(1000):05d}",
                        added_by=requester,
                        added_at=now,
                    )
                )
        with engine.begin() as connection:
            connection.execute(insert(Order), rows)
            connection.execute(insert(OrderDomain), names)
            if watchers:
                connection.execute(insert(Watcher), watchers)
    if engine.dialect.name == "postgresql":
        # Explicit ids do not move the sequence; the next order made normally must not clash.
        with engine.begin() as connection:
            connection.execute(
                text("SELECT setval(pg_get_serial_sequence('orders', 'id'), max(id)) FROM orders")
            )
    analyze(engine)
    return Store(team_id=team_id, user_id=user_id, own=len(mine), total=orders)


def seed_sent_reminders(engine: Engine, *, per_order: int = 2, now: datetime) -> int:
    """Give every order reminders already sent in the past (the history sweeps must skip)."""

    def rows(order_id: int) -> Iterator[dict[str, Any]]:
        for step in range(per_order):
            yield dict(
                order_id=order_id,
                kind="verification",
                step=step,
                recipient_id="U0HISTORY",
                due_at=now - timedelta(days=30 - step),
                sent_at=now - timedelta(days=30 - step),
                attempts=1,
            )

    return _seed_history(engine, Reminder, rows)


def seed_delivered_files(engine: Engine, *, now: datetime) -> int:
    """Give every order the files a finished order has: its CSR and chain (never deleted) and
    a key file deleted long ago (the history the key-file sweep must skip)."""
    long_ago = now - timedelta(days=60)

    def rows(order_id: int) -> Iterator[dict[str, Any]]:
        for kind in ("csr", "chain", "key"):
            yield dict(
                order_id=order_id,
                user_id="U0HISTORY",
                channel_id="D0HISTORY",
                slack_file_id=f"F{order_id:09d}{kind[0].upper()}",
                kind=kind,
                filename=f"order-{order_id}.{kind}.pem",
                delivered_at=long_ago,
                delete_after=long_ago if kind == "key" else None,
                deleted_at=long_ago if kind == "key" else None,
            )

    return _seed_history(engine, DeliveredFile, rows)


def seed_sent_deliveries(engine: Engine, *, now: datetime) -> int:
    """Give every order the outbox rows a finished order has, all sent long ago (the history
    the outbox sweep must skip)."""
    long_ago = now - timedelta(days=60)

    def rows(order_id: int) -> Iterator[dict[str, Any]]:
        for what, medium in (("registered", "dm"), ("submitted", "dm"), ("csr", "file")):
            yield dict(
                key=f"o{order_id}:{what}:history",
                what=what,
                medium=medium,
                user_id="U0HISTORY",
                order_id=order_id,
                payload={},
                status="sent",
                attempts=1,
                refusals=0,
                in_doubt=False,
                created_at=long_ago,
                sent_at=long_ago,
            )

    return _seed_history(engine, Delivery, rows)


def _seed_history(
    engine: Engine, model: Any, rows_of: Callable[[int], Iterable[dict[str, Any]]]
) -> int:
    """Insert ``rows_of(order_id)`` for every order, in batches; how many rows."""
    with engine.begin() as connection:
        ids = list(connection.scalars(select(Order.id)))
        rows = [row for order_id in ids for row in rows_of(order_id)]
        for first in range(0, len(rows), 20000):
            connection.execute(insert(model), rows[first : first + 20000])
    analyze(engine)
    return len(rows)


def name_row(order_id: int, position: int, name: str) -> dict[str, Any]:
    """An order_domains row for a name typed as it is stored."""
    return dict(
        order_id=order_id,
        position=position,
        name=name,
        display=name,
        reversed_name=reversed_labels(name),
    )


def select_max_id(engine: Engine) -> int:
    """The largest order id so far (0 for an empty store)."""
    with engine.connect() as connection:
        return int(connection.scalar(select(func.max(Order.id))) or 0)


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics, as a database that has run a while has them."""
    if engine.dialect.name == "postgresql":
        # As autovacuum would have by now: statistics, and a visibility map for index-only scans.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        return
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def _not_after(rng: random.Random, state: str, now: datetime) -> datetime:
    if state == S.EXPIRED:
        return now - timedelta(days=rng.uniform(1, 400))
    return now + timedelta(days=rng.uniform(1, 200))


def _names(rng: random.Random, i: int) -> list[str]:
    base = f"site{i}.example{i % 97}.com"
    extra = [f"www.{base}"] if rng.random() < 0.5 else []
    return [base, *extra]
