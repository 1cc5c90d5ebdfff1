"""The admin list's storage queries alone, 1k vs 100k orders, on SQLite and PostgreSQL.

Times storage.order_pages (the first page, an older page, a filtered page, and the count
capped at 1,000) against two stores side by side, alternating between them so a busy
machine slows both alike, and prints the ratio. Run from the repository root:

    .venv/bin/python -m bench.list_query [--sizes 1000,100000] [--runs 300] [--no-postgres]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.devtools.seed_orders import seed
from storage import db
from storage.order_pages import OrderFilter, StateGroup, count_orders, orders_page

ADMIN = "U0BENCHADMIN"
NOW = datetime.now(UTC)
ALL = OrderFilter(team_id="T0SEED", user_id=ADMIN, all_orders=True)
QUERIES: dict[str, Callable[[Session], object]] = {
    "first page": lambda s: orders_page(s, ALL),
    "pages 1, 2 and 3 in turn": lambda s: orders_page(
        s, ALL, before=orders_page(s, ALL, before=orders_page(s, ALL).older).older
    ),
    "expiring page": lambda s: orders_page(s, replace(ALL, group=StateGroup.EXPIRING, now=NOW)),
    "failed page": lambda s: orders_page(s, replace(ALL, group=StateGroup.FAILED)),
    "domain page": lambda s: orders_page(s, replace(ALL, domain="example5.com")),
    "count, capped at 1,000": lambda s: count_orders(s, ALL, cap=1000),
}


@contextmanager
def _store(kind: str, size: int, stack: ExitStack) -> Iterator[Engine]:
    if kind == "sqlite":
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        url = f"sqlite:///{Path(tmp) / 'certdesk.sqlite3'}"
    else:
        from tests.support.postgres import postgres_cluster

        url = stack.enter_context(postgres_cluster())
    engine = db.make_engine(url)
    db.upgrade(engine)
    seed(engine, orders=size, now=NOW)
    try:
        yield engine
    finally:
        engine.dispose()


def measure(kind: str, sizes: list[int], runs: int) -> None:
    """Print medians and p99 per query and size, and the ratio of largest to smallest."""
    with ExitStack() as stack:
        stores = {}
        for size in sizes:
            start = time.perf_counter()
            stores[size] = db.session_factory(stack.enter_context(_store(kind, size, stack)))
            print(f"{kind}: seeded {size:,} orders in {time.perf_counter() - start:.1f} s")
        for name, query in QUERIES.items():
            samples: dict[int, list[float]] = {size: [] for size in sizes}
            for i in range(runs + 20):
                for size, sessions in stores.items():  # alternate: both see the same load
                    with sessions() as session:
                        begun = time.perf_counter()
                        query(session)
                        if i >= 20:
                            samples[size].append(time.perf_counter() - begun)
            cells = []
            for size in sizes:
                ordered = sorted(samples[size])
                p99 = ordered[int(len(ordered) * 0.99) - 1]
                cells.append(f"{size:>7,}: {statistics.median(ordered) * 1000:6.2f} ms")
                cells[-1] += f" (p99 {p99 * 1000:6.2f})"
            ratio = statistics.median(samples[sizes[-1]]) / statistics.median(samples[sizes[0]])
            print(f"  {name:<24} {'  '.join(cells)}  ratio {ratio:.2f}")


def main() -> None:
    """Measure each engine."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for kind in ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]:
        measure(kind, sizes, args.runs)
    print("target: ratio <= 1.5, p99 <= 50 ms (the count is capped; an exact one grows with n)")


if __name__ == "__main__":
    main()
