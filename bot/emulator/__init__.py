"""A local Slack: the Web API the app calls, and Slack's side that calls the app (demo, tests)."""

from __future__ import annotations

import time

from bot.emulator.model import Call, Message, SharedFile
from bot.emulator.render import render_message, render_state, render_view
from bot.emulator.server import BackgroundServer, Emulator, run_wsgi_in_thread
from bot.emulator.slack_side import Response, SlackSide
from bot.emulator.socket_mode import SocketModeHub
from bot.emulator.socket_side import SocketSlackSide

__all__ = [
    "BackgroundServer",
    "Call",
    "Emulator",
    "Message",
    "Response",
    "SharedFile",
    "SlackSide",
    "SocketModeHub",
    "SocketSlackSide",
    "render_message",
    "render_state",
    "render_view",
    "run_wsgi_in_thread",
    "serve_forever",
]


def serve_forever(
    *,
    host: str,
    port: int,
    token: str,
    signing_secret: str,
    request_url: str | None,
    app_token: str = "xapp-1-A0001-1-emulator",
    socket_mode: bool = False,
) -> None:
    """Run the emulator until interrupted (``certdesk emulator``); prints where it listens.

    With ``socket_mode``, people's actions go to the app connected over Socket Mode instead
    of being POSTed to ``request_url``.
    """
    emulator = Emulator(
        host=host, port=port, token=token, signing_secret=signing_secret, app_token=app_token
    )
    emulator.start()
    if socket_mode:
        emulator.slack_side = SocketSlackSide(emulator, emulator.socket_mode)
    elif request_url:
        emulator.slack_side = SlackSide(emulator, request_url=request_url)
    print(f"Slack Web API emulator: SLACK_API_URL={emulator.api_url}", flush=True)
    print(f"What people see: GET {emulator.base_url}/_emulator/", flush=True)
    if socket_mode:
        print(
            f"Act as a person: POST {emulator.base_url}/_emulator/command "
            "(user_id=U..., text=...) -> envelopes to the app connected with "
            "SLACK_APP_TOKEN set to --app-token (certdesk serve --socket)",
            flush=True,
        )
    elif request_url:
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
