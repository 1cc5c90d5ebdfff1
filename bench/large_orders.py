"""A list page of the largest orders certdesk sells (MAX_DOMAINS names each) against one of
small orders, on SQLite and PostgreSQL.

A card shows an order's first five names and how many there are; the page should cost what
it shows, not what the orders hold. Two people in the same store (1,000 other orders): one
whose 30 orders have MAX_DOMAINS names each, one whose 30 have the seed's few. Times
storage.order_rows.rows_page (the first page, as `/cert list` reads it, connection included)
for each in turn and prints the medians and their ratio. Run from the repository root:

    .venv/bin/python -m bench.large_orders [--runs 500] [--no-postgres]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select, update

from bench.alternating import alternate, in_ms, ratio
from bench.stores import seeded_engine
from bot.devtools.seed_orders import analyze, name_row, seed
from bot.products import MAX_DOMAINS
from storage.models import Order, OrderDomain
from storage.order_pages import OrderFilter
from storage.order_rows import rows_page

SMALL, LARGE = "U0SEEDOWN", "U0LARGE"
NOW = datetime.now(UTC)


def give_large_orders(engine: Engine) -> None:
    """Seed LARGE's 30 orders, then give each of them MAX_DOMAINS names."""
    seed(engine, orders=30, own=30, user_id=LARGE, watched=0, now=NOW)
    with engine.begin() as connection:
        ids = connection.scalars(select(Order.id).where(Order.requester_id == LARGE)).all()
        connection.execute(update(Order).where(Order.id.in_(ids)).values(domain_count=MAX_DOMAINS))
        connection.execute(delete(OrderDomain).where(OrderDomain.order_id.in_(ids)))
        names = [
            name_row(order_id, p, f"host{p}.shop{order_id}.example")
            for order_id in ids
            for p in range(MAX_DOMAINS)
        ]
        connection.execute(insert(OrderDomain), names)
    analyze(engine)  # the planner sees the names as they now are


def first_page(engine: Engine, user: str) -> Callable[[], object]:
    """Read ``user``'s first page, as `/cert list` does."""
    wanted = OrderFilter(team_id="T0SEED", user_id=user)

    def read() -> object:
        with engine.connect() as connection:
            page = rows_page(connection, wanted, cap=1000)
        assert len(page.orders) == 10
        return page

    return read


def measure(kind: str, runs: int) -> None:
    """Print the median and p99 of a first page for each person, and large / small."""
    with seeded_engine(kind, 1000, now=NOW) as engine:
        give_large_orders(engine)
        samples = alternate({user: first_page(engine, user) for user in (SMALL, LARGE)}, runs=runs)
    print(
        f"{kind}: first page of 10 orders, few names: {in_ms(samples[SMALL], digits=3)}; "
        f"{MAX_DOMAINS} names: {in_ms(samples[LARGE], digits=3)}; "
        f"ratio {ratio(samples[LARGE], samples[SMALL]):.2f}"
    )


def main() -> None:
    """Measure each engine."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    for kind in ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]:
        measure(kind, args.runs)


if __name__ == "__main__":
    main()
