"""What a /metrics scrape and a /readyz probe cost, on a store with many orders.

Fills a SQLite store with ORDERS orders in every state and three reminder slots each, then
times metrics.render (the GROUP BY over orders and the three MIN()s over due rows, plus the
process's own metrics) and one readiness report (database, schema, Slack via a local
emulator, the simulated CA). Prints medians and p95. Run:

    .venv/bin/python bench/metrics_scrape.py [--orders 20000] [--scrapes 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta

from bot import metrics, workflow
from bot.app import build_services, probe_client
from bot.config import Settings
from bot.emulator import Emulator
from bot.readiness import Readiness
from storage.models import Order, Reminder, utcnow

TOKEN = "xoxb-bench"


def fill(services: object, orders: int) -> None:
    """``orders`` orders spread over every state, three reminder slots each."""
    states = list(workflow.State)
    now = utcnow()
    sessions = services.sessions  # type: ignore[attr-defined]
    for start in range(0, orders, 1000):
        with sessions.begin() as session:
            batch = [
                Order(
                    team_id="T0001",
                    requester_id="UBENCH",
                    product="dv",
                    domain_type="single",
                    domain_count=1,
                    validity_days=90,
                    state=states[n % len(states)],
                    next_poll_at=now - timedelta(seconds=n % 600),
                )
                for n in range(start, min(start + 1000, orders))
            ]
            session.add_all(batch)
            session.flush()
            session.add_all(
                Reminder(
                    order_id=o.id,
                    kind="verification",
                    step=step,
                    recipient_id="UBENCH",
                    due_at=now + timedelta(hours=step - 1),
                )
                for o in batch
                for step in range(3)
            )


def timed(fn: object, times: int) -> list[float]:
    samples = []
    for _ in range(times):
        began = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - began)
    return samples


def show(what: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    median = statistics.median(samples)
    print(f"{what:<40} median {median * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--scrapes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Emulator(token=TOKEN, signing_secret="s") as emu:
        settings = Settings.load(
            {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": emu.api_url, "CERTDESK_DATA_DIR": tmp}
        )
        services = build_services(settings)
        began = time.perf_counter()
        fill(services, args.orders)
        print(f"{args.orders} orders, {3 * args.orders} reminder slots written in "
              f"{time.perf_counter() - began:.1f} s (SQLite)")  # fmt: skip
        body, _ = metrics.render(services.sessions)
        print(f"one scrape: {len(body)} bytes, {len(body.splitlines())} lines")
        scrape = timed(lambda: metrics.render(services.sessions), args.scrapes)
        show("GET /metrics (render)", scrape)
        ready = Readiness.for_services(services, slack=probe_client(settings))
        show("GET /readyz (Slack answer cached)", timed(ready.report, args.scrapes))
        uncached = Readiness.for_services(services, slack=probe_client(settings))
        for check in uncached.checks:
            check.keep_ok = 0.0
        show("GET /readyz (every check for real)", timed(uncached.report, args.scrapes // 4))
        services.background.shutdown()
        services.engine.dispose()


if __name__ == "__main__":
    main()
