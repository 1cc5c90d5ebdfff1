"""The HTTP surface: Slack's request URL, a health check, and pages certdesk serves itself."""

from __future__ import annotations

import contextvars
import html
import json
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from bot import ops_http as ops
from bot.app import probe_client
from bot.ca.pages import Page, PageHandler
from bot.readiness import Readiness
from bot.services import Services

StartResponse = Callable[..., Any]


def make_wsgi_app(
    app: App,
    services: Services,
    *,
    pages: dict[str, PageHandler] | None = None,
    readiness: Readiness | None = None,
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """A WSGI application: POST /slack/events, GET /healthz, /readyz, /metrics and the pages."""
    slack = SlackRequestHandler(app, path="/slack/events")
    extra = dict(pages or {})
    ready = readiness or Readiness.for_services(services, slack=probe_client(services.settings))

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            # A fresh log context per request: what one request binds never reaches the next.
            return contextvars.Context().run(slack, environ, start_response)
        if path == "/healthz" and method == "GET":
            return _health(services, start_response)
        if path == "/readyz" and method == "GET":
            return ops.readyz(ready, start_response)
        if path == "/metrics" and method == "GET":
            return ops.metrics_page(services, start_response)
        for prefix, handler in extra.items():
            if path.startswith(prefix) and method in ("GET", "POST"):
                return _page(start_response, handler(method, path[len(prefix) :]))
        return _page(start_response, Page(404, "Not found."))

    return wsgi


def _health(services: Services, start_response: StartResponse) -> Iterable[bytes]:
    body: dict[str, object]
    try:
        with services.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        status, body = "200 OK", {"ok": True, "database": "ok"}
    except Exception as exc:  # noqa: BLE001 - the health check reports, it does not raise
        status = "503 Service Unavailable"
        body = {"ok": False, "database": type(exc).__name__}
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


_STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    410: "410 Gone",
}


def _page(start_response: StartResponse, page: Page) -> Iterable[bytes]:
    if page.body is not None:  # a binary document (CRL, certificate), sent as it is
        start_response(
            _STATUS.get(page.status, f"{page.status} Error"),
            [("Content-Type", page.content_type), ("Content-Length", str(len(page.body)))],
        )
        return [page.body]
    form = (
        f'<form method="post"><button type="submit">{html.escape(page.button)}</button></form>'
        if page.button
        else ""
    )
    body = (
        "<!doctype html><meta charset=utf-8><title>certdesk</title>"
        f"<p>{html.escape(page.message)}</p>{form}"
    ).encode()
    status = _STATUS.get(page.status, f"{page.status} Error")
    start_response(status, [("Content-Type", "text/html; charset=utf-8")])
    return [body]
