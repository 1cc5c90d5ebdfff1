"""Throughput and latency of signed `/cert help` and `/cert list` against a bare WSGI baseline.

Runs `certdesk serve --no-scheduler` (waitress for 1 worker, gunicorn for more) on a SQLite
store of 1k, 10k and 100k orders, beside the bare WSGI app on the same server: each case is
loaded in turns with the bare app (``--rounds`` times ``--seconds``), and its ratio is taken
against those bare runs. Each case also prints the servers' own CPU time a request (Linux
/proc, every process of each server), whose ratio moves less with others' load on the machine.
Also times the storage page query alone (storage.order_pages) at each size. Run from the
repository root (wrk is used when installed: `apt-get install -y wrk`):

    .venv/bin/python -m bench.ack [--seconds 1] [--rounds 3] [--sizes 1000,10000,100000]
        [--workers 1,2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine

from bench import alternating, load, servers
from bench.load import Result
from bot.devtools.seed_orders import seed
from bot.emulator import Emulator
from storage import db
from storage.order_pages import OrderFilter, count_orders, orders_page

TOKEN, SECRET = "xoxb-bench", "bench-secret"
OWNER, ADMIN = "U0SEEDOWN", "U0BENCHADMIN"


def main() -> None:
    """Seed, serve, load, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per load run")
    parser.add_argument("--rounds", type=int, default=3, help="turns of bare and certdesk")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    print(f"load generator: {load.tool()}, {args.connections} connections, {args.seconds:g} s/run")
    with tempfile.TemporaryDirectory() as tmp, Emulator(token=TOKEN, signing_secret=SECRET) as emu:
        env = {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": emu.api_url,
            "CERTDESK_DATA_DIR": str(Path(tmp)),
            "CERTDESK_ADMINS": ADMIN,
            "CERTDESK_LOG_LEVEL": "WARNING",
        }
        url = f"sqlite:///{Path(tmp) / 'certdesk.sqlite3'}"
        engine = db.make_engine(url)
        db.upgrade(engine)

        def request(user: str, text: str) -> load.Request:
            return servers.slash_command(
                secret=SECRET, team_id=emu.team_id, user_id=user, text=text
            )

        page_times: dict[int, dict[str, list[float]]] = {}
        seeded = 0
        for size in sizes:
            start = time.perf_counter()
            seed(
                engine,
                orders=size - seeded,
                own=30 if seeded == 0 else 0,
                watched=0,
                team_id=emu.team_id,
                seed_value=size,
            )
            seeded = size
            print(f"\n== {size:,} orders (seeded in {time.perf_counter() - start:.1f} s)")
            page_times[size] = _page_query(engine, emu.team_id)
            for name, samples in page_times[size].items():
                print(f"  storage, admin list, {name:<30} {alternating.in_ms(samples)}")
            # One request at a time on a server of its own: nothing queued, and a request
            # still running after its client gave up cannot slow the load runs below.
            with servers.running(servers.certdesk_serve(env, workers=1), env) as (port, _):
                one = load.single(port, request(ADMIN, "list"), count=30, max_seconds=15)
            print(f"  single admin /cert list, one at a time: {one.line()}")
            # Beyond a second a request, a load run only measures a queue of timeouts.
            admin_under_load = one.requests > 0 and one.p50_ms < 1000
            for n in workers:
                cases = [
                    ("/cert help", request(OWNER, "help")),
                    ("/cert list (own, 30)", request(OWNER, "list")),
                ]
                if admin_under_load:
                    cases.append(("/cert list (admin)", request(ADMIN, "list")))
                # Others' work on a shared machine comes and goes within seconds: both servers
                # run side by side, each case is loaded in turns with the bare app, and its
                # ratio is against the bare runs beside it.
                with (
                    servers.running(servers.bare(n), {}, wait_path="/") as (bare_port, bare_app),
                    servers.running(servers.certdesk_serve(env, workers=n), env) as (port, app),
                ):
                    for label, req in cases:
                        mine, theirs = [], []
                        # The servers' own CPU time a request (their processes, from /proc):
                        # steadier than throughput when others' work comes and goes.
                        cpu_mine = cpu_theirs = 0.0
                        for _ in range(args.rounds):
                            before = servers.cpu_seconds(bare_app.pid)
                            theirs.append(load.run(bare_port, req, seconds=args.seconds))
                            cpu_theirs += servers.cpu_seconds(bare_app.pid) - before
                            before = servers.cpu_seconds(app.pid)
                            mine.append(load.run(port, req, seconds=args.seconds))
                            cpu_mine += servers.cpu_seconds(app.pid) - before
                            servers.drain(port)
                        got, bare = _merged(mine), _merged(theirs)
                        ratio = got.rps / bare.rps if bare.rps else 0.0
                        mine_us = cpu_mine / max(got.requests, 1) * 1e6
                        theirs_us = cpu_theirs / max(bare.requests, 1) * 1e6
                        share = f"{theirs_us / mine_us:.3f}" if mine_us else "-"
                        # Each round's own ratio: how far others' load moved the figure.
                        turns = " ".join(
                            f"{m.rps / t.rps:.2f}" if t.rps else "-"
                            for m, t in zip(mine, theirs, strict=True)
                        )
                        print(
                            f"  {n} worker(s) {label:<22} {got.line()}  vs bare {ratio:.3f}"
                            f" (bare {bare.rps:.0f} req/s; rounds {turns})\n"
                            f"  {'':<33} server CPU {mine_us:.0f} µs a request, bare"
                            f" {theirs_us:.0f} µs: bare/certdesk {share}"
                        )
                if not admin_under_load:
                    print(f"  {n} worker(s) /cert list (admin)     not loaded: see the single run")
        engine.dispose()
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\nstorage, admin list, median at {large:,} / at {small:,} orders (target <= 1.5x):")
        for name in page_times[large]:
            ratio = alternating.ratio(page_times[large][name], page_times[small][name])
            print(f"  {name:<30} {ratio:.2f}x")


def _page_query(engine: Engine, team_id: str) -> dict[str, list[float]]:
    """Seconds for the admin's first page, its capped count and its exact count, 200 times."""
    sessions = db.session_factory(engine)
    wanted = OrderFilter(team_id=team_id, user_id=ADMIN, all_orders=True)
    jobs = {
        "page (10 rows, loaded)": lambda s: orders_page(s, wanted),
        "page + count capped at 1,000": lambda s: (
            orders_page(s, wanted),
            count_orders(s, wanted, cap=1000),
        ),
        "exact count": lambda s: count_orders(s, wanted),
    }
    times: dict[str, list[float]] = {}
    for name, job in jobs.items():
        samples = []
        for i in range(220):
            with sessions() as session:
                start = time.perf_counter()
                job(session)
                if i >= 20:  # warm-up runs fill caches
                    samples.append(time.perf_counter() - start)
        times[name] = samples
    return times


def _merged(runs: list[Result]) -> Result:
    """Several runs of one case as one: mean throughput, median p50, worst p99."""
    return Result(
        rps=statistics.fmean(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=max(r.p99_ms for r in runs),
        requests=sum(r.requests for r in runs),
        errors=sum(r.errors for r in runs),
    )


if __name__ == "__main__":
    main()
