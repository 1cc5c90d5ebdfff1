"""Serve the emulator over real HTTP: the Web API, upload URLs, file downloads, response_urls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from email.parser import BytesParser
from email.policy import HTTP
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot.emulator import control, hooks, webapi
from bot.emulator.model import ApiError, Call
from bot.emulator.render import render_state
from bot.emulator.slack_side import SlackSide
from bot.emulator.socket_mode import SocketModeHub, check_app_token
from bot.emulator.state import State

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 makes bursts of clients wait for SYN retries


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Keep test output clean; the emulator's own call log is the record."""


class BackgroundServer:
    """A WSGI app served on a thread; ``url`` is ``http://host:port``."""

    def __init__(self, app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def run_wsgi_in_thread(app: WSGIApp, *, host: str = "127.0.0.1", port: int = 0) -> BackgroundServer:
    """Serve any WSGI app (the Bolt app in tests, for instance) on a background thread."""
    return BackgroundServer(app, host=host, port=port)


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def _api_args(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    args: dict[str, Any] = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.startswith("application/json") and body:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            args.update(parsed)
    elif body:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return args


def _bearer(environ: dict[str, Any]) -> str | None:
    header = environ.get("HTTP_AUTHORIZATION", "")
    return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None


def _upload_bytes(environ: dict[str, Any], body: bytes) -> bytes:
    """The file's bytes: the raw body, or the first part of a multipart/form-data body."""
    content_type = environ.get("CONTENT_TYPE", "")
    if not content_type.startswith("multipart/form-data"):
        return body
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return payload
    return b""


class Emulator(State):
    """The local Slack workspace, served over HTTP; use as a context manager in tests."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        signing_secret: str = "test-signing-secret",
        app_token: str = "xapp-1-A0001-1-test",
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        trigger_ttl: float = 3.0,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(
            token=token,
            signing_secret=signing_secret,
            app_token=app_token,
            team_id=team_id,
            bot_user_id=bot_user_id,
            trigger_ttl=trigger_ttl,
            clock=clock,
        )
        self._host, self._port = host, port
        self._server: BackgroundServer | None = None
        self.api_url = ""
        # Socket Mode: its WebSocket server starts on the first apps.connections.open.
        self.socket_mode = SocketModeHub(self, host=host)
        # Set when run standalone with a request URL: enables POST /_emulator/<action>.
        self.slack_side: SlackSide | None = None

    def start(self) -> Emulator:
        """Start serving on a free port (or the one given) and return self."""
        self._server = BackgroundServer(self.wsgi, host=self._host, port=self._port)
        self.base_url = self._server.url
        self.api_url = f"{self.base_url}/api/"
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.socket_mode.stop()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _connections_open(
        self, header_token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """apps.connections.open: a single-use WebSocket URL for the app-level token."""

        def open_url() -> dict[str, Any]:
            check_app_token(self, header_token)
            return {"url": self.socket_mode.open_url()}

        return self._answer("apps.connections.open", {}, open_url)

    def _oauth_access(
        self, args: dict[str, Any], authorization: str
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """oauth.v2.access: client credentials instead of a token (bot.emulator.oauth)."""
        shown = {"grant_type": args.get("grant_type")}  # never the client secret or the code
        return self._answer(
            "oauth.v2.access", shown, lambda: self.installs.access(args, authorization)
        )

    def _answer(
        self, method: str, shown: dict[str, Any], act: Callable[[], dict[str, Any]]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer a call that takes no bot token, recording it (``shown``: when it succeeds)."""
        try:
            result = act()
        except ApiError as exc:
            self.record(Call(method, {}, False, exc.code, self.clock()))
            return 200, {}, {"ok": False, "error": exc.code}
        self.record(Call(method, shown, True, None, self.clock()))
        return 200, {}, {"ok": True, **result}

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The WSGI entry point for every route the emulator serves."""
        path: str = environ.get("PATH_INFO", "")
        body = _read_body(environ)
        status, headers, payload = self._route(environ, path, body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        default_type = (
            "application/octet-stream" if isinstance(payload, bytes) else "application/json"
        )
        content_type = headers.pop("Content-Type", default_type)
        reason = {
            200: "OK",
            302: "Found",
            400: "Bad Request",
            401: "Unauthorized",
            404: "Not Found",
            429: "Too Many Requests",
        }
        start_response(
            f"{status} {reason.get(status, 'Error')}",
            [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers.items()],
        )
        return [data]

    def _route(
        self, environ: dict[str, Any], path: str, body: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any] | bytes]:
        if path.startswith("/api/"):
            try:
                args = _api_args(environ, body)
            except ValueError:
                return 200, {}, {"ok": False, "error": "invalid_json"}
            if path == "/api/apps.connections.open":
                return self._connections_open(_bearer(environ))
            if path == "/api/oauth.v2.access":
                return self._oauth_access(args, environ.get("HTTP_AUTHORIZATION", ""))
            token = _bearer(environ) or args.get("token")
            return webapi.call(self, path.removeprefix("/api/"), args, token=token)
        if path == "/oauth/v2/authorize" and environ["REQUEST_METHOD"] == "GET":
            query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
            status, headers, page = self.installs.authorize(query)
            return status, {"Content-Type": "text/plain; charset=utf-8", **headers}, page
        if path.startswith("/upload/") and environ["REQUEST_METHOD"] == "POST":
            return hooks.upload(self, path.removeprefix("/upload/"), _upload_bytes(environ, body))
        if path.startswith("/files/"):
            file_id = path.split("/")[2]
            return hooks.download(self, file_id, token=_bearer(environ))
        if path.startswith("/respond/") and environ["REQUEST_METHOD"] == "POST":
            try:
                message = json.loads(body or b"{}")
            except ValueError:
                return 400, {}, {"ok": False, "error": "invalid_json"}
            return hooks.respond(self, path.removeprefix("/respond/"), message)
        if (
            path.startswith("/_emulator/")
            and environ["REQUEST_METHOD"] == "POST"
            and self.slack_side
        ):
            form = dict(parse_qsl(body.decode("utf-8")))
            status, text = control.handle(self.slack_side, path.removeprefix("/_emulator/"), form)
            return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()
        if path.rstrip("/") == "/_emulator":
            text_plain = {"Content-Type": "text/plain; charset=utf-8"}
            return 200, text_plain, render_state(self).encode()
        return 404, {}, {"ok": False, "error": "not_found"}
