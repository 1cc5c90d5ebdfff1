"""Where one signed `/cert` request spends its time, in-process (no HTTP server, no network).

Builds certdesk as `certdesk serve` does (local Slack emulator, a SQLite store seeded with
``--orders`` orders, 30 of them the requester's own), replays one signed slash command through
the WSGI app ``--count`` times, prints the mean time per request, then cProfile's top entries.
Run from the repository root:

    .venv/bin/python -m bench.profile_request [--text help|list] [--count 2000] [--orders 1000]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import servers
from bench.load import Request
from bot import app as application
from bot.config import Settings
from bot.devtools.seed_orders import seed
from bot.emulator import Emulator
from bot.web import wsgi_for

TOKEN, SECRET = "xoxb-bench", "bench-secret"
OWNER, ADMIN = "U0SEEDOWN", "U0BENCHADMIN"


def environ_for(request: Request) -> Callable[[], dict[str, Any]]:
    """A fresh WSGI environ for ``request`` each call (the body stream is read once)."""
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in request.headers}
    content_type = headers.pop("HTTP_CONTENT_TYPE", "")

    def make() -> dict[str, Any]:
        return {
            "REQUEST_METHOD": request.method,
            "PATH_INFO": request.path,
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(request.body)),
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "3000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.url_scheme": "http",
            **headers,
        }

    return make


def main() -> None:
    """Build, seed, replay, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text", default="help", help="what follows /cert")
    parser.add_argument("--user", default=OWNER, help="who asks (the seeded owner by default)")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Emulator(token=TOKEN, signing_secret=SECRET) as emu:
        settings = Settings.load(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": emu.api_url,
                "CERTDESK_DATA_DIR": str(Path(tmp)),
                "CERTDESK_ADMINS": ADMIN,
                "CERTDESK_LOG_LEVEL": "WARNING",
            }
        )
        certdesk = application.create(settings)
        services = certdesk.services
        if args.orders:
            seed(services.engine, orders=args.orders, own=30, watched=0, team_id=emu.team_id)
        wsgi = wsgi_for(certdesk)
        request = servers.slash_command(
            secret=SECRET, team_id=emu.team_id, user_id=args.user, text=args.text
        )
        make = environ_for(request)
        statuses: dict[str, int] = {}

        def start_response(status: str, _headers: list[tuple[str, str]], *_: Any) -> None:
            statuses[status] = statuses.get(status, 0) + 1

        def once() -> bytes:
            return b"".join(wsgi(make(), start_response))

        print(f"answer: {once()[:300]!r}")
        for _ in range(50):  # warm-up: caches, the pool's connections, Bolt's auth.test
            once()
        begun = time.perf_counter()
        for _ in range(args.count):
            once()
        took = time.perf_counter() - begun
        print(f"/cert {args.text}: {took / args.count * 1e6:.0f} µs a request ({statuses})")
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.count):
            once()
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
        services.background.shutdown()


if __name__ == "__main__":
    main()
