"""Socket Mode against the emulator: ack round trips, and how long each kind of drop costs.

Prints the median and p95 of `/cert help` acked over the WebSocket and over signed HTTP, then,
for each way Slack drops a socket (a `disconnect` refresh, a closing handshake, a TCP drop
with no handshake), the seconds until certdesk is greeted on a new socket and until the first
slash command after the drop is acked. ``--sdk-only`` turns certdesk's own watch off, to show
what slack_sdk alone does (a TCP drop then costs ~50 s each). Run:

    .venv/bin/python bench/socket_mode.py [--requests 200] [--drops 5] [--sdk-only]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.app import create
from bot.config import Settings
from bot.emulator import Emulator, SlackSide, SocketSlackSide
from bot.serve import start_http
from bot.socket_mode import SocketLink

TOKEN, SECRET, USER = "xoxb-bench", "bench-secret", "UBENCH"


def timed(action: Callable[[], object], times: int) -> list[float]:
    """Seconds each of ``times`` calls of ``action`` took."""
    spans = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        spans.append(time.perf_counter() - start)
    return spans


def show(label: str, spans: list[float]) -> None:
    spans = sorted(spans)
    p95 = spans[max(0, int(len(spans) * 0.95) - 1)]
    print(
        f"{label:<50} median {statistics.median(spans) * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--drops", type=int, default=5)
    parser.add_argument("--sdk-only", action="store_true", help="without certdesk's watch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Emulator(token=TOKEN, signing_secret=SECRET) as emu:
        emu.add_user(USER, name="bench")
        settings = Settings.load(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_APP_TOKEN": emu.app_token,
                "SLACK_API_URL": emu.api_url,
                "CERTDESK_DATA_DIR": str(Path(tmp)),
            }
        )
        certdesk = create(settings)
        http = start_http(certdesk)
        link = SocketLink.open(certdesk)
        if args.sdk_only:  # reach in: the bench compares against the SDK on its own
            link.client.on_message_listeners.clear()
            link._stopped.set()
        hub = emu.socket_mode
        hub.wait_for_link()
        over_socket = SocketSlackSide(emu, hub)
        over_http = SlackSide(emu, request_url=f"{http.url}/slack/events", signing_secret=SECRET)
        try:
            show(
                "`/cert help` acked over Socket Mode",
                timed(lambda: over_socket.slash_command(USER, "help"), args.requests),
            )
            show(
                "`/cert help` acked over signed HTTP",
                timed(lambda: over_http.slash_command(USER, "help"), args.requests),
            )
            for how in ("disconnect", "close", "abort"):
                greeted, acked = [], []
                for _ in range(args.drops):
                    before = hub.hellos
                    start = time.perf_counter()
                    hub.drop(how)
                    hub.wait_for_link(newer_than=before, timeout=120)
                    greeted.append(time.perf_counter() - start)
                    over_socket.slash_command(USER, "help")
                    acked.append(time.perf_counter() - start)
                show(f"drop '{how}': greeted on a new socket after", greeted)
                show(f"drop '{how}': first command acked after", acked)
        finally:
            link.close()
            http.stop()
            certdesk.services.engine.dispose()


if __name__ == "__main__":
    main()
