"""Socket Mode: Slack's requests arrive over a WebSocket certdesk opens with SLACK_APP_TOKEN.

HTTP still serves ``/healthz`` (which then also reports the WebSocket) and the pages the CA
backend needs; ``/slack/events`` answers 404, because Slack sends nothing there in this mode.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient

from bot.app import Certdesk, slack_client
from bot.errors import ConfigError

logger = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# The SDK logs every envelope and ack at DEBUG, and envelopes carry what people type into
# modals (passphrases too): its logger never goes below INFO, whatever LOG_LEVEL says.
_sdk_logger = logging.getLogger("bot.socket_mode.sdk")
_sdk_logger.setLevel(logging.INFO)

RECEIVE_TIMEOUT = 0.5  # seconds; slack_sdk's is 3 (see SocketLink._greeted)
WATCH_INTERVAL = 0.25  # seconds between looks at the socket (see SocketLink._watch)
MAX_BACKOFF = 30.0  # seconds between reconnect attempts at most

REFUSED = (
    "SLACK_APP_TOKEN: Slack refused it ({error}); use an app-level token (xapp-…) with the "
    "connections:write scope, from Basic Information → App-Level Tokens"
)


class SocketLink:
    """certdesk's Socket Mode connection: opened, watched, reopened when Slack drops it."""

    def __init__(self, certdesk: Certdesk) -> None:
        settings = certdesk.services.settings
        if not settings.slack_app_token:
            raise ConfigError(
                "SLACK_APP_TOKEN: required for Socket Mode (an app-level token, xapp-…)"
            )
        self._token = settings.slack_app_token
        # apps.connections.open runs on every reconnect: the client that retries.
        self._web = slack_client(settings)
        self.handler = SocketModeHandler(
            certdesk.app, app_token=self._token, web_client=self._web, logger=_sdk_logger
        )
        self.client: SocketModeClient = self.handler.client
        self.client.on_message_listeners.append(self._greeted)
        self._stopped = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="socket-watch", daemon=True)

    @classmethod
    def open(cls, certdesk: Certdesk) -> SocketLink:
        """Connect; raise ConfigError (one line) when Slack refuses the app-level token."""
        link = cls(certdesk)
        try:
            # Asked here rather than by the SDK, which would log the refusal with a traceback.
            link.client.wss_uri = link._web.apps_connections_open(app_token=link._token)["url"]
        except SlackApiError as exc:
            link.close()
            raise ConfigError(REFUSED.format(error=exc.response.get("error"))) from None
        link.handler.connect()
        link._watchdog.start()
        return link

    @property
    def connected(self) -> bool:
        """Whether the WebSocket is up (Slack can reach certdesk)."""
        return self.client.is_connected()

    def close(self) -> None:
        """Disconnect and stop watching and the SDK's threads."""
        self._stopped.set()
        if self._watchdog.is_alive():
            self._watchdog.join(timeout=5)
        self.handler.close()

    def _greeted(self, message: str) -> None:
        # slack_sdk holds a lock through each recv, bounded only by the socket's 3 s timeout,
        # and replacing a session (on Slack's `disconnect`) waits for that lock before the new
        # socket is read: every refresh would hold envelopes up to 3 s, Slack's whole ack
        # deadline. A session is current once Slack greets it; shorten its timeout then.
        if '"hello"' not in message[:40] or json.loads(message).get("type") != "hello":
            return
        session = self.client.current_session
        sock = getattr(session, "sock", None)
        if sock is not None:
            sock.settimeout(RECEIVE_TIMEOUT)

    def _watch(self) -> None:
        # slack_sdk notices a dead socket only at its health check (every 10 s), and 3.48's
        # reader spins on an end-of-file instead of ending: look every WATCH_INTERVAL, and
        # back off while reconnecting fails (apps.connections.open is rate-limited).
        delay = WATCH_INTERVAL
        while not self._stopped.wait(delay):
            session = self.client.current_session
            if session is not None and session.is_active():
                if not _peer_closed(session.sock):
                    delay = WATCH_INTERVAL
                    continue
                logger.info("socket mode: Slack dropped the connection; reconnecting")
                session.disconnect()
            try:
                # A no-op when the SDK (or a `disconnect` message) already opened a new session.
                self.client.connect_to_new_endpoint()
            except (SlackApiError, OSError) as exc:
                logger.warning("socket mode: reconnecting failed: %s", exc)
            if self.client.is_connected():
                delay = WATCH_INTERVAL
            else:
                delay = min(delay * 2, MAX_BACKOFF)
                logger.warning("socket mode: not connected; next try in %.1f s", delay)

    def wrap(self, inner: WSGIApp) -> WSGIApp:
        """The HTTP app for Socket Mode: no /slack/events, and /healthz reports the socket."""

        def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path == "/slack/events":
                body = b"certdesk runs in Socket Mode: Slack's requests come over the WebSocket.\n"
                start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
                return [body]
            if path == "/healthz":
                return self._health(inner, environ, start_response)
            return inner(environ, start_response)

        return wsgi

    def _health(
        self, inner: WSGIApp, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            seen["status"] = status

        report = json.loads(b"".join(inner(environ, keep)))
        # Down while the WebSocket is: Slack cannot reach this process then (the SDK keeps
        # reconnecting meanwhile, so a probe should allow a few failures).
        connected = self.connected
        report["socket"] = "connected" if connected else "disconnected"
        ok = bool(report.get("ok")) and connected
        report["ok"] = ok
        status = seen.get("status", "200 OK") if ok else "503 Service Unavailable"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(report).encode()]


def _peer_closed(sock: socket.socket | None) -> bool:
    """Whether Slack's end closed the TCP connection: peeks, so nothing buffered is consumed."""
    if sock is None:
        return True
    try:
        # A duplicate descriptor: peeking works on TLS sockets too (ssl refuses recv flags).
        probe = socket.socket(fileno=os.dup(sock.fileno()))
    except OSError:
        return True  # closed under us
    try:
        return probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False  # nothing to read: alive and quiet
    except OSError:
        return True  # reset
    finally:
        probe.close()
