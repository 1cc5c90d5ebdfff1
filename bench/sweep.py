"""Time to find and send 100 due reminders with 1k vs 100k orders in the store.

Each order has two reminders already sent (the history a sweep must not wade through); 100
expiry reminders are due. The sweep is certdesk's own (bot.orders.reminding.sender.send_due)
posting to the local Slack emulator, on SQLite and on a throwaway PostgreSQL. Run from the
repository root:

    .venv/bin/python -m bench.sweep [--sizes 1000,100000] [--repeat 3] [--no-postgres]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select, update

from bench.stores import empty_store
from bot.app import build_services
from bot.config import Settings
from bot.devtools.seed_orders import analyze, seed, seed_sent_reminders
from bot.emulator import Emulator
from bot.orders.reminding.sender import send_due
from bot.services import Services
from storage import db
from storage.models import Order, Reminder

TOKEN, SECRET = "xoxb-bench", "bench-secret"
DUE = 100
RECIPIENT = "U0BENCHREMIND"


def _make_due(engine: Engine, now: datetime) -> list[int]:
    """100 pending expiry reminders on issued orders, due a minute ago."""
    with engine.begin() as connection:
        ids = list(
            connection.scalars(
                select(Order.id).where(Order.state == "issued").order_by(Order.id).limit(DUE)
            )
        )
        connection.execute(
            insert(Reminder),
            [
                dict(
                    order_id=i,
                    kind="expiry",
                    step=30,
                    recipient_id=RECIPIENT,
                    due_at=now - timedelta(minutes=1),
                    attempts=0,
                )
                for i in ids
            ],
        )
    analyze(engine)
    return ids


def _reset(engine: Engine, order_ids: list[int]) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Reminder)
            .where(Reminder.order_id.in_(order_ids), Reminder.recipient_id == RECIPIENT)
            .values(sent_at=None, claimed_by=None, claimed_until=None, message_ts=None)
        )


@dataclass
class _Store:
    engine: Engine
    services: Services
    due: list[int]


def _open_store(kind: str, size: int, *, stack: ExitStack, emu: Emulator, now: datetime) -> _Store:
    tmp = stack.enter_context(tempfile.TemporaryDirectory())
    url = stack.enter_context(empty_store(kind, Path(tmp)))
    settings = Settings.load(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": emu.api_url,
            "CERTDESK_DATA_DIR": tmp,
            "CERTDESK_WORKING_HOURS": "any",
            "DATABASE_URL": url,
        }
    )
    engine = db.make_engine(url)
    db.upgrade(engine)
    seed(engine, orders=size, team_id=emu.team_id, now=now)
    seed_sent_reminders(engine, per_order=2, now=now)
    due = _make_due(engine, now)
    services = build_services(settings)
    stack.callback(engine.dispose)
    stack.callback(services.engine.dispose)
    stack.callback(services.background.shutdown)
    return _Store(engine, services, due)


def measure(kind: str, sizes: list[int], *, repeat: int) -> dict[int, list[float]]:
    """Seconds for send_due to deliver the 100 due reminders in each store, alternating."""
    now = datetime.now(UTC)
    with ExitStack() as stack:
        emu = stack.enter_context(Emulator(token=TOKEN, signing_secret=SECRET))
        emu.add_user(RECIPIENT, name="remindee")
        stores = {}
        for size in sizes:
            begun = time.perf_counter()
            stores[size] = _open_store(kind, size, stack=stack, emu=emu, now=now)
            print(f"{kind}: seeded {size:,} orders in {time.perf_counter() - begun:.1f} s")
        samples: dict[int, list[float]] = {size: [] for size in sizes}
        for _ in range(repeat):
            for size, store in stores.items():  # alternate: both see the same machine load
                _reset(store.engine, store.due)
                start = time.perf_counter()
                sent = send_due(store.services, worker_id="bench", now=now)
                samples[size].append(time.perf_counter() - start)
                assert sent == DUE, f"sent {sent} of {DUE}"
        return samples


def main() -> None:
    """Measure each engine at each size and print the ratio of the largest to the smallest."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = ["sqlite"] if args.no_postgres else ["sqlite", "postgresql"]
    for kind in kinds:
        medians = {}
        for size, samples in measure(kind, sizes, repeat=args.repeat).items():
            medians[size] = statistics.median(samples)
            runs = ", ".join(f"{s:.2f}" for s in samples)
            print(f"{kind:<10} {size:>7,} orders: {DUE} reminders, median {medians[size]:.2f} s")
            print(f"{'':<10} runs: {runs}")
        ratio = medians[sizes[-1]] / medians[sizes[0]]
        print(f"{kind:<10} ratio {sizes[-1]:,} / {sizes[0]:,}: {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
