"""A list page of the largest orders certdesk sells (250 names each) against one of small
orders, on SQLite and PostgreSQL.

A card shows an order's first five names and how many there are; the page should cost what
it shows, not what the orders hold. Two people in the same store (1,000 other orders): one
whose 30 orders have 250 names each, one whose 30 have the seed's few. Times
storage.order_rows.rows_page (the first page, as `/cert list` reads it) for each in turn and
prints the medians and their ratio. Run from the repository root:

    .venv/bin/python -m bench.large_orders [--runs 500] [--no-postgres]
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import ExitStack

from sqlalchemy import Engine, delete, insert, select

from bench.list_query import NOW, _store
from bot.devtools.seed_orders import seed
from storage.models import Order, OrderDomain, reversed_labels
from storage.order_pages import OrderFilter
from storage.order_rows import rows_page

SMALL, LARGE = "U0SEEDOWN", "U0LARGE"
NAMES = 250


def give_large_orders(engine: Engine) -> None:
    """Seed LARGE's 30 orders, then give each of them NAMES names."""
    seed(engine, orders=30, own=30, user_id=LARGE, watched=0, now=NOW)
    with engine.begin() as connection:
        ids = connection.scalars(select(Order.id).where(Order.requester_id == LARGE)).all()
        connection.execute(delete(OrderDomain).where(OrderDomain.order_id.in_(ids)))
        rows = [_name_row(order_id, p) for order_id in ids for p in range(NAMES)]
        connection.execute(insert(OrderDomain), rows)


def _name_row(order_id: int, position: int) -> dict[str, object]:
    name = f"host{position}.shop{order_id}.example"
    return {
        "order_id": order_id,
        "position": position,
        "name": name,
        "display": name,
        "reversed_name": reversed_labels(name),
    }


def measure(kind: str, runs: int) -> None:
    """Print the median and p99 of a first page for each person, and large / small."""
    with ExitStack() as stack:
        engine = stack.enter_context(_store(kind, 1000, stack))
        give_large_orders(engine)
        samples: dict[str, list[float]] = {SMALL: [], LARGE: []}
        for i in range(runs + 20):
            for user in samples:  # alternate: both see the same load
                wanted = OrderFilter(team_id="T0SEED", user_id=user)
                with engine.connect() as connection:
                    begun = time.perf_counter()
                    page = rows_page(connection, wanted, cap=1000)
                    took = time.perf_counter() - begun
                if i >= 20:
                    samples[user].append(took)
                assert len(page.orders) == 10
        cells = []
        for user, label in ((SMALL, "few names"), (LARGE, f"{NAMES} names")):
            ordered = sorted(samples[user])
            p99 = ordered[int(len(ordered) * 0.99) - 1]
            cells.append(
                f"{label}: {statistics.median(ordered) * 1000:.3f} ms (p99 {p99 * 1000:.2f})"
            )
        ratio = statistics.median(samples[LARGE]) / statistics.median(samples[SMALL])
        print(f"{kind}: first page of 10 orders, {'; '.join(cells)}; ratio {ratio:.2f}")


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
