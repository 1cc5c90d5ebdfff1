"""A local Slack: the Web API the app calls, and Slack's side that calls the app (demo, tests)."""

from __future__ import annotations

import time

from bot.emulator.model import Call, Message, SharedFile
from bot.emulator.render import render_message, render_state, render_view
from bot.emulator.server import BackgroundServer, Emulator, run_wsgi_in_thread
from bot.emulator.slack_side import Response, SlackSide

__all__ = [
    "BackgroundServer",
    "Call",
    "Emulator",
    "Message",
    "Response",
    "SharedFile",
    "SlackSide",
    "render_message",
    "render_state",
    "render_view",
    "run_wsgi_in_thread",
    "serve_forever",
]


def serve_forever(
    *, host: str, port: int, token: str, signing_secret: str, request_url: str | None
) -> None:
    """Run the emulator until interrupted (``certdesk emulator``); prints where it listens."""
    emulator = Emulator(host=host, port=port, token=token, signing_secret=signing_secret)
    emulator.start()
    if request_url:
        emulator.slack_side = SlackSide(emulator, request_url=request_url)
    print(f"Slack Web API emulator: SLACK_API_URL={emulator.api_url}", flush=True)
    print(f"What people see: GET {emulator.base_url}/_emulator/", flush=True)
    if request_url:
        print(
            f"Act as a person: POST {emulator.base_url}/_emulator/command "
            f"(user_id=U..., text=...) -> signed requests to {request_url}",
            flush=True,
        )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
