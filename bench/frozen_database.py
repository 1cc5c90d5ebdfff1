"""How long certdesk takes to answer while its PostgreSQL is frozen (SIGSTOP), and the edge's cost.

Starts a throwaway cluster and certdesk over real HTTP, freezes the cluster's postmaster and
backends, and times /healthz, /readyz, a signed `/cert help` and `/cert list`, a button press,
a new-order modal's submission and the Home tab's event (each answer must come back: no
hang), and how long the button's presser waits for the DM that says the database is away.
Then, unfrozen, compares signed `/cert help` round trips with the edge's overhead: the
verification of a request before Bolt sees it. Run (as root or the cluster's owner,
PostgreSQL installed):

    .venv/bin/python bench/frozen_database.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import http.client
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# The repository first (tests/ has a bot/ folder of its own), then tests/ for its support.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from slack_sdk.signature import SignatureVerifier  # noqa: E402
from support.freeze import frozen  # noqa: E402
from support.postgres import postgres_cluster  # noqa: E402

from bot.app import create  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.edge import SlackEdge  # noqa: E402
from bot.emulator import Emulator, SlackSide  # noqa: E402
from bot.serve import start_http  # noqa: E402
from bot.views import ids  # noqa: E402
from storage import db  # noqa: E402

TOKEN, SECRET, USER, TEAM = "xoxb-bench", "bench-secret", "UBENCH", "T0001"


def timed(call: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def get(base: str, path: str) -> int:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", path)
    status = connection.getresponse().status
    connection.close()
    return status


def cert(base: str, words: str) -> int:
    body = urlencode(
        {"command": "/cert", "text": words, "user_id": USER, "team_id": TEAM}
        | {"trigger_id": "1.2.3", "channel_id": "D1", "response_url": "http://127.0.0.1:9/"}
    )
    ts = str(int(time.time()))
    signature = str(SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body))
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(
        "POST",
        "/slack/events",
        body=body.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
    )
    status = connection.getresponse().status
    connection.close()
    return status


def edge_cost(requests: int) -> list[float]:
    """Seconds per request the edge spends before Bolt (verify + shape check), in process."""
    body = urlencode({"command": "/cert", "text": "help", "user_id": USER, "team_id": TEAM})
    body += "&trigger_id=1.2.3"
    edge = SlackEdge(lambda environ, start: [b""], signing_secret=SECRET)  # type: ignore[arg-type]
    costs = []
    for _ in range(requests):
        ts = str(int(time.time()))
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts,
            "HTTP_X_SLACK_SIGNATURE": SignatureVerifier(SECRET).generate_signature(
                timestamp=ts, body=body
            ),
        }
        environ["wsgi.input"] = io.BytesIO(body.encode())
        start = time.perf_counter()
        edge(environ, lambda *a: None)
        costs.append(time.perf_counter() - start)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres_cluster() as url,
        Emulator(token=TOKEN, signing_secret=SECRET, team_id=TEAM) as emu,
    ):
        emu.add_user(USER, name="bench")
        settings = Settings.load(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": emu.api_url,
                "CERTDESK_DATA_DIR": tmp,
                "DATABASE_URL": url,
            }
        )
        engine = db.make_engine(url)
        db.upgrade(engine)
        engine.dispose()
        server = start_http(create(settings))
        base = server.url
        try:
            cert(base, "list")  # a pooled connection, as in a running service
            slack = SlackSide(emu, request_url=f"{base}/slack/events", signing_secret=SECRET)
            slack.slash_command(USER, "new")  # the new-order modal, open while frozen
            new_order: dict[str, object] = {
                ids.PRODUCT: "dv",
                ids.DOMAIN_TYPE: "single",
                ids.DOMAIN_COUNT: "1",
                ids.VALIDITY: "200",
            }
            press = {
                "type": "block_actions",
                "team": {"id": TEAM},
                "user": {"id": USER},
                "trigger_id": "1.2.3",
                "actions": [{"action_id": ids.SHOW_STATUS, "type": "button", "value": "1"}],
            }
            probes = {
                "/healthz": lambda: get(base, "/healthz"),
                "/readyz": lambda: get(base, "/readyz"),
                "/cert help": lambda: cert(base, "help"),
                "/cert list": lambda: cert(base, "list"),
                "button": lambda: slack.deliver("interactive", press).status,
                "modal submit": lambda: slack.submit_view(USER, new_order).status,
                "Home opened": lambda: slack.app_home_opened(USER).status,
            }
            print(f"Frozen PostgreSQL, {args.rounds} rounds (seconds to answer, status):")
            with frozen(url):
                for name, probe in probes.items():
                    results = [timed(probe) for _ in range(args.rounds)]
                    times = [t for t, _ in results]
                    statuses = sorted({s for _, s in results})
                    print(
                        f"  {name:<12} median {statistics.median(times):.3f}  "
                        f"max {max(times):.3f}  status {statuses}"
                    )
                server.certdesk.services.background.drain(timeout=120)
                told = len(emu.dms_to(USER))
                start = time.perf_counter()
                slack.deliver("interactive", press)
                while len(emu.dms_to(USER)) == told and time.perf_counter() - start < 30:
                    time.sleep(0.01)
                waited = time.perf_counter() - start
                print(f"  button press to the DM that says so: {waited:.3f} s")
            seconds, status = timed(lambda: cert(base, "list"))
            print(f"Thawed: /cert list {seconds:.3f} s, status {status}")
            round_trips = [timed(lambda: cert(base, "help"))[0] for _ in range(200)]
            print(
                "Signed /cert help round trip: median "
                f"{statistics.median(round_trips) * 1e3:.2f} ms"
            )
        finally:
            server.stop()
            server.certdesk.services.engine.dispose()
    costs = sorted(edge_cost(2000))
    print(
        f"Edge (size cap, timestamp, signature, shape) before Bolt: median "
        f"{statistics.median(costs) * 1e6:.0f} µs, p95 {costs[int(len(costs) * 0.95)] * 1e6:.0f} µs"
    )


if __name__ == "__main__":
    main()
