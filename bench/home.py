"""Time to build an admin's App Home with 1k vs 100k orders, on SQLite and PostgreSQL.

The Home is certdesk's own (bot.orders.home): read per group only the orders shown and a
capped count, then render. Each store is seeded like a desk that has run for a while (most
orders issued, some failed or being prepared). The two stores are timed in turn so a busy
machine slows both alike, and the ratio of the largest to the smallest is printed. For
comparison, "before" is the old way: read every visible order, then render. Run from the
repository root:

    .venv/bin/python -m bench.home [--sizes 1000,100000] [--runs 200] [--before-runs 3]
                                   [--no-postgres]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bench.alternating import alternate, in_ms, ratio
from bench.stores import empty_store
from bot.app import build_services
from bot.config import Settings
from bot.devtools.seed_orders import seed
from bot.emulator import Emulator
from bot.orders.home import home_tab, refresh_home
from bot.services import Services
from bot.views.home import home_view
from storage import db
from storage.models import Order
from tests.support.home_store import reads

TOKEN, SECRET = "xoxb-bench", "bench-secret"
ADMIN = "U0BENCHADMIN"


def _open_store(kind: str, size: int, *, stack: ExitStack, emu: Emulator) -> Services:
    tmp = stack.enter_context(tempfile.TemporaryDirectory())
    url = stack.enter_context(empty_store(kind, Path(tmp)))
    settings = Settings.load(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": emu.api_url,
            "CERTDESK_DATA_DIR": tmp,
            "CERTDESK_ADMINS": ADMIN,
            "CERTDESK_WORKING_HOURS": "any",
            "DATABASE_URL": url,
        }
    )
    engine = db.make_engine(url)
    db.upgrade(engine)
    seed(engine, orders=size, team_id=emu.team_id, now=datetime.now(UTC))
    engine.dispose()
    services = build_services(settings)
    stack.callback(services.engine.dispose)
    stack.callback(services.background.shutdown)
    return services


def _before(services: Services, team_id: str) -> object:
    """The Home as it was built before: every visible order read, then rendered."""
    every = (
        select(Order)
        .where(Order.team_id == team_id)
        .options(selectinload(Order.domains), selectinload(Order.watchers))
        .order_by(Order.id.desc())
    )
    with services.sessions.begin() as session:
        orders = session.scalars(every).all()
        return home_view(orders, user_id=ADMIN, admin=True).to_dict()


def measure(kind: str, sizes: list[int], *, runs: int, before_runs: int) -> None:
    """Print medians and p99 per step and size, and the ratio of largest to smallest."""
    with ExitStack() as stack:
        emu = stack.enter_context(Emulator(token=TOKEN, signing_secret=SECRET))
        emu.add_user(ADMIN, name="admin")
        team = emu.team_id
        stores: dict[int, Services] = {}
        for size in sizes:
            begun = time.perf_counter()
            stores[size] = _open_store(kind, size, stack=stack, emu=emu)
            print(f"{kind}: seeded {size:,} orders in {time.perf_counter() - begun:.1f} s")
        for size, services in stores.items():
            with reads(services.engine) as counted:
                home_tab(services, ADMIN, team_id=team)
            print(
                f"  {size:>7,} orders: {counted.statements} statements, "
                f"{counted.orders_loaded} orders read per Home"
            )
        steps: dict[str, tuple[Callable[[Services], object], int]] = {
            "build (read + render)": (lambda s: home_tab(s, ADMIN, team_id=team), runs),
            "build + views.publish": (lambda s: refresh_home(s, ADMIN, team_id=team), runs // 4),
            "before: read every order": (lambda s: _before(s, team), before_runs),
        }
        for name, (step, count) in steps.items():
            if count < 1:
                continue
            samples = alternate(
                {size: partial(step, services) for size, services in stores.items()},
                runs=count,
                warm=min(10, count),
            )
            cells = [f"{size:>7,}: {in_ms(samples[size], width=8)}" for size in sizes]
            print(
                f"  {name:<26} {'  '.join(cells)}  "
                f"ratio {ratio(samples[sizes[-1]], samples[sizes[0]]):.2f}"
            )


def main() -> None:
    """Measure each engine."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--before-runs", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for kind in ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]:
        measure(kind, sizes, runs=args.runs, before_runs=args.before_runs)
    print("target: ratio <= 1.5 (the same rows are read at any size; counts stop at 1,000)")


if __name__ == "__main__":
    main()
