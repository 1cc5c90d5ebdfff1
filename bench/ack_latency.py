"""How fast certdesk answers Slack: signed `/cert help` and `/cert list` over real HTTP.

Compares Bolt with process_before_response=True (what certdesk runs) against Bolt's default
mode, which polls for the ack. Prints medians, p95 and the ratio. Run:

    .venv/bin/python bench/ack_latency.py [--requests 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from slack_bolt import App

import handlers
from bot.app import Certdesk, build_services
from bot.config import Settings
from bot.emulator import Emulator, SlackSide
from bot.serve import start_http

TOKEN, SECRET, USER = "xoxb-bench", "bench-secret", "UBENCH"


def measure(*, process_before_response: bool, requests: int, text: str) -> list[float]:
    """Round-trip seconds of ``requests`` signed slash commands."""
    with tempfile.TemporaryDirectory() as tmp, Emulator(token=TOKEN, signing_secret=SECRET) as emu:
        emu.add_user(USER, name="bench")
        settings = Settings.load(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": emu.api_url,
                "CERTDESK_DATA_DIR": str(Path(tmp)),
            }
        )
        services = build_services(settings)
        slack_notifier: Any = services.notifier  # its own WebClient: not part of the port
        app = App(
            client=slack_notifier.client,
            signing_secret=SECRET,
            process_before_response=process_before_response,
            token_verification_enabled=False,
        )
        handlers.register_all(app, services)
        server = start_http(Certdesk(services=services, app=app))  # waitress, as in production
        slack = SlackSide(emu, request_url=f"{server.url}/slack/events", signing_secret=SECRET)
        try:
            for _ in range(20):  # warm up
                slack.slash_command(USER, text)
            samples = []
            for _ in range(requests):
                start = time.perf_counter()
                response = slack.slash_command(USER, text)
                samples.append(time.perf_counter() - start)
                assert response.status == 200
            return samples
        finally:
            server.stop()
            services.engine.dispose()


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    for text in ("help", "list"):
        fast = measure(process_before_response=True, requests=args.requests, text=text)
        slow = measure(process_before_response=False, requests=args.requests, text=text)
        ratio = statistics.median(slow) / statistics.median(fast)
        print(f"/cert {text}")
        print(f"  process_before_response=True : {summary(fast)}")
        print(f"  Bolt default (polls the ack) : {summary(slow)}")
        print(f"  default / certdesk           : {ratio:.1f}x")


if __name__ == "__main__":
    main()
