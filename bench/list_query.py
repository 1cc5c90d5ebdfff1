"""The admin list's storage queries alone, 1k vs 100k orders, on SQLite and PostgreSQL.

Times storage.order_pages (the first page, an older page, a filtered page, and the count
capped at 1,000) against two stores side by side, alternating between them so a busy
machine slows both alike, and prints the ratio. Run from the repository root:

    .venv/bin/python -m bench.list_query [--sizes 1000,100000] [--runs 300] [--no-postgres]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bench.alternating import alternate, in_ms, ratio
from bench.stores import seeded_engine
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


def measure(kind: str, sizes: list[int], runs: int) -> None:
    """Print medians and p99 per query and size, and the ratio of largest to smallest."""
    with ExitStack() as stack:
        stores = {}
        for size in sizes:
            start = time.perf_counter()
            engine = stack.enter_context(seeded_engine(kind, size, now=NOW))
            stores[size] = db.session_factory(engine)
            print(f"{kind}: seeded {size:,} orders in {time.perf_counter() - start:.1f} s")
        for name, query in QUERIES.items():
            samples = alternate(
                {size: _in_session(sessions, query) for size, sessions in stores.items()},
                runs=runs,
            )
            cells = [f"{size:>7,}: {in_ms(samples[size])}" for size in sizes]
            print(
                f"  {name:<24} {'  '.join(cells)}  "
                f"ratio {ratio(samples[sizes[-1]], samples[sizes[0]]):.2f}"
            )


def _in_session(
    sessions: sessionmaker[Session], query: Callable[[Session], object]
) -> Callable[[], object]:
    def run() -> object:
        with sessions() as session:
            return query(session)

    return run


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
