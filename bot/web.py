"""The HTTP surface: Slack's request URL, health and readiness, and pages certdesk serves itself."""

from __future__ import annotations

import contextvars
import html
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import ops_http as ops
from bot import quick
from bot.app import Certdesk, probe_client
from bot.ca.pages import Page, PageHandler
from bot.edge import MAX_BODY, SlackEdge, StartResponse, WsgiApp
from bot.readiness import Readiness
from bot.services import Services

logger = logging.getLogger(__name__)

#: A page's form is a token and a button: a few hundred bytes.
_PAGE_BODY_MAX = 16_384
#: Every page certdesk serves: no framing, no scripts or outside resources, forms post only
#: back to certdesk, no Referer (the link's secret is in the URL), nothing cached.
PAGE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
]


def make_wsgi_app(
    app: App,
    services: Services,
    *,
    pages: dict[str, PageHandler] | None = None,
    readiness: Readiness | None = None,
) -> WsgiApp:
    """A WSGI app: POST /slack/events, GET /healthz, /readyz, /metrics and the CA's pages."""
    slack = SlackEdge(
        SlackRequestHandler(app, path="/slack/events"),
        signing_secret=services.settings.slack_signing_secret or "",
        max_body=MAX_BODY,
        shortcut=quick.for_app(app),
    )
    # OAuth mode: Bolt's install page and redirect (GET, no signature: Slack's OAuth state
    # cookie and the one-time code are what protects them).
    oauth = SlackRequestHandler(app) if app.oauth_flow is not None else None
    oauth_paths = (
        {app.oauth_flow.install_path, app.oauth_flow.redirect_uri_path} if app.oauth_flow else set()
    )
    ready = readiness or Readiness.for_services(services, slack=probe_client(services.settings))
    extra = dict(pages or {})

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            # A fresh log context per request: what one request binds never reaches the next.
            return contextvars.Context().run(slack, environ, start_response)
        if oauth is not None and path in oauth_paths and method == "GET":
            return contextvars.Context().run(oauth, environ, start_response)
        if path == "/healthz" and method == "GET":
            # Alive: answers without the database, so a hung database never hangs it.
            return _json(start_response, "200 OK", {"ok": True})
        if path == "/readyz" and method == "GET":
            return ops.readyz(ready, start_response)
        if path == "/metrics" and method == "GET":
            return ops.metrics_page(services, start_response)
        for prefix, handler in extra.items():
            if path.startswith(prefix) and method in ("GET", "POST"):
                form = _form(environ) if method == "POST" else {}
                if form is None:
                    return _page(start_response, Page(413, "That form is too large."))
                return _page(start_response, handler(method, path[len(prefix) :], form))
        return _page(start_response, Page(404, "Not found."))

    return wsgi


def wsgi_for(certdesk: Certdesk) -> WsgiApp:
    """The WSGI app a server runs: ``make_wsgi_app`` with the configured CA's pages."""
    return make_wsgi_app(certdesk.app, certdesk.services, pages=certdesk.services.ca.pages())


def _json(start_response: StartResponse, status: str, body: dict[str, object]) -> Iterable[bytes]:
    start_response(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
    return [json.dumps(body).encode()]


def _form(environ: dict[str, Any]) -> Mapping[str, str] | None:
    """A POSTed url-encoded form, first value per name; None if it is too large to read."""
    raw_length = str(environ.get("CONTENT_LENGTH") or "0").strip()
    length = int(raw_length) if raw_length.isascii() and raw_length.isdigit() else 0
    if length > _PAGE_BODY_MAX:
        return None
    stream = environ.get("wsgi.input")
    body = stream.read(length) if stream is not None and length else b""
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


_STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    410: "410 Gone",
    413: "413 Content Too Large",
}


def render_page(page: Page) -> bytes:
    """The page's HTML: its sentence, and its button in a form posting back to the same URL."""
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in page.hidden
    )
    form = (
        f'<form method="post">{hidden}<button type="submit">'
        f"{html.escape(page.button)}</button></form>"
        if page.button
        else ""
    )
    return (
        "<!doctype html><meta charset=utf-8><title>certdesk</title>"
        f"<p>{html.escape(page.message)}</p>{form}"
    ).encode()


def _page(start_response: StartResponse, page: Page) -> Iterable[bytes]:
    status = _STATUS.get(page.status, f"{page.status} Error")
    if page.body is not None:  # a binary document (CRL, certificate), sent as it is
        start_response(
            status,
            [("Content-Type", page.content_type), ("Content-Length", str(len(page.body)))],
        )
        return [page.body]
    start_response(status, list(PAGE_HEADERS))
    return [render_page(page)]
