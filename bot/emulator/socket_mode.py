"""Slack's Socket Mode side: apps.connections.open, the WebSocket, envelopes out and acks back."""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from bot.emulator.model import ApiError
from bot.emulator.state import State

logger = logging.getLogger(__name__)
# websockets logs each frame at DEBUG, and frames carry what people type: INFO at most.
_wire_logger = logging.getLogger(f"{__name__}.wire")
_wire_logger.setLevel(logging.INFO)

Kind = Literal["slash_commands", "interactive", "events_api"]
TICKET_TTL = 30.0  # seconds a WebSocket URL stays usable; Slack's are short-lived and single-use
HOST_NAME = "applink-emulated"
_ACCEPTS_PAYLOAD = {"view_submission", "block_suggestion"}  # interactive types Slack reads acks of


def accepts_response_payload(kind: Kind, payload: dict[str, Any]) -> bool:
    """Whether Slack reads the ack's payload: slash commands, view submissions, option loads."""
    return kind == "slash_commands" or (
        kind == "interactive" and payload.get("type") in _ACCEPTS_PAYLOAD
    )


def check_app_token(state: State, header_token: str | None) -> None:
    """Check the app-level token as Slack does for apps.connections.open; raise ApiError."""
    if not header_token:
        # Slack reads this method's token from the Authorization header only, never the body.
        raise ApiError("not_authed")
    if header_token.startswith(("xoxb-", "xoxp-")):
        raise ApiError("not_allowed_token_type")
    if header_token != state.app_token:
        raise ApiError("invalid_auth")


@dataclass
class _Link:
    """One open WebSocket; ``draining`` once told to go (no new envelopes are sent on it)."""

    connection: ServerConnection
    draining: bool = False


@dataclass
class _Pending:
    """An envelope waiting for its ack."""

    done: threading.Event = field(default_factory=threading.Event)
    ack: dict[str, Any] | None = None


class SocketModeHub:
    """The WebSocket server apps connect to, started on the first apps.connections.open."""

    def __init__(self, state: State, *, host: str = "127.0.0.1") -> None:
        self.state = state
        self.host = host
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._tickets: dict[str, float] = {}
        self._links: list[_Link] = []
        self._pending: dict[str, _Pending] = {}
        self.hellos = 0  # connections greeted so far (a reconnect adds one)
        self.envelopes: list[dict[str, Any]] = []  # everything sent, for assertions

    @property
    def port(self) -> int | None:
        """The WebSocket server's port, once started."""
        with self._changed:
            return self._server.socket.getsockname()[1] if self._server else None

    # ----- the Web API side -----

    def open_url(self) -> str:
        """A fresh single-use ``ws://`` URL, as ``apps.connections.open`` returns it."""
        with self._changed:
            if self._server is None:
                self._start()
            now = time.monotonic()
            # Forget tickets never used (the app crashed between asking and connecting).
            self._tickets = {t: at for t, at in self._tickets.items() if now - at <= TICKET_TTL}
            ticket = secrets.token_hex(16)
            self._tickets[ticket] = now
            port = self._server.socket.getsockname()[1]  # type: ignore[union-attr]
        return f"ws://{self.host}:{port}/link/?ticket={ticket}&app_id={self.state.app_id}"

    def _start(self) -> None:
        self._server = serve(
            self._serve_link,
            self.host,
            0,
            process_request=self._check_ticket,
            compression=None,  # Slack's client offers none; keep frames plain
            close_timeout=2,
            logger=_wire_logger,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator-socket-mode", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Close every connection and stop listening."""
        with self._changed:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ----- the WebSocket side -----

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = (parse_qs(urlsplit(request.path).query).get("ticket") or [""])[0]
        with self._changed:
            issued = self._tickets.pop(ticket, None)
        if issued is None or time.monotonic() - issued > TICKET_TTL:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid, used or expired ticket\n")
        return None

    def _serve_link(self, connection: ServerConnection) -> None:
        link = _Link(connection)
        with self._changed:
            self.hellos += 1
            count = 1 + len(self._live())
            connection.send(json.dumps(self._hello(count)))
            self._links.append(link)
            self._changed.notify_all()
        try:
            for message in connection:
                self._take_ack(message)
        except ConnectionClosed:
            pass  # the app went away without a closing handshake; it will reconnect
        finally:
            with self._changed:
                self._links.remove(link)
                self._changed.notify_all()

    def _hello(self, count: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": HOST_NAME,
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.state.app_id},
        }

    def _take_ack(self, message: str | bytes) -> None:
        """An ack is ``{"envelope_id": ..., "payload": {...}}``; anything else is ignored."""
        try:
            ack = json.loads(message)
        except ValueError:
            logger.warning("socket mode: a message that is not JSON was ignored")
            return
        envelope_id = ack.get("envelope_id") if isinstance(ack, dict) else None
        with self._changed:
            pending = self._pending.get(envelope_id) if isinstance(envelope_id, str) else None
        if pending is None:
            logger.warning("socket mode: an ack for no pending envelope was ignored")
            return
        pending.ack = ack
        pending.done.set()

    def _live(self) -> list[_Link]:
        """The connections envelopes may go to, oldest first (the caller holds the lock)."""
        return [link for link in self._links if not link.draining]

    # ----- what Slack sends -----

    @property
    def connected(self) -> bool:
        """Whether an app holds a live connection that envelopes can go to."""
        with self._changed:
            return bool(self._live())

    def wait_for_link(self, *, newer_than: int = 0, timeout: float = 10.0) -> None:
        """Wait until more than ``newer_than`` connections were greeted and one is live."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (self.hellos > newer_than and self._live()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no app connected over Socket Mode in time")
                self._changed.wait(remaining)

    def deliver(self, kind: Kind, payload: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        """Send one envelope on the newest live connection; return the app's ack.

        Raises ConnectionError when no app is connected, TimeoutError when no ack comes.
        """
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload(kind, payload),
        }
        if kind == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        pending = _Pending()
        with self._changed:
            live = self._live()
            if not live:
                raise ConnectionError("no app is connected over Socket Mode")
            self._pending[envelope["envelope_id"]] = pending
            self.envelopes.append(envelope)
        try:
            live[-1].connection.send(json.dumps(envelope))
            if not pending.done.wait(timeout):
                raise TimeoutError(f"no ack for the {kind} envelope within {timeout:g} s")
        except ConnectionClosed as exc:
            raise ConnectionError(f"the Socket Mode connection closed: {exc}") from exc
        finally:
            with self._changed:
                self._pending.pop(envelope["envelope_id"], None)
        assert pending.ack is not None
        return pending.ack

    def drop(
        self,
        how: Literal["disconnect", "close", "abort"] = "disconnect",
        *,
        reason: str = "refresh_requested",
        grace: float = 5.0,
    ) -> int:
        """Drop every live connection, as Slack does; returns how many were dropped.

        ``disconnect`` sends Slack's ``disconnect`` message (the app should reconnect on a new
        URL) and closes the old socket ``grace`` seconds later; ``close`` closes it at once
        with a closing handshake (1001, going away); ``abort`` drops the TCP connection with
        no handshake, as a failing server or an idle-timing proxy does.
        """
        with self._changed:
            links = self._live()
            for link in links:
                link.draining = True
            self._changed.notify_all()
        for link in links:
            if how == "disconnect":
                message = {
                    "type": "disconnect",
                    "reason": reason,
                    "debug_info": {"host": HOST_NAME},
                }
                try:
                    link.connection.send(json.dumps(message))
                except ConnectionClosed:
                    continue
                timer = threading.Timer(grace, _close, args=(link.connection,))
                timer.daemon = True
                timer.start()
            elif how == "abort":
                with contextlib.suppress(OSError):
                    link.connection.socket.shutdown(socket.SHUT_RDWR)
            else:
                # close() waits for the app's closing frame: not on the caller's thread.
                threading.Thread(target=_close, args=(link.connection,), daemon=True).start()
        return len(links)


def _close(connection: ServerConnection) -> None:
    connection.close(code=1001, reason="going away")
