"""Slack's request URL, guarded: size cap, timestamp and signature checked on the raw body first.

Bolt parses a request body before it checks the signature, so an unsigned request with bad
JSON, bad UTF-8 or a non-numeric timestamp raised inside Bolt (HTTP 500 with a traceback),
and Bolt logged every unsigned request at INFO with its whole body. Here nothing parses a
body until its signature is verified, and only verified, well-formed requests reach Bolt.

The body is parsed once, here, exactly as Bolt parses it; a ``shortcut`` may answer the parsed
request itself (a slash command that needs none of Bolt's machinery, see bot.quick), else the
raw body goes on to Bolt.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context, parse_body
from slack_sdk.signature import SignatureVerifier

from bot.payload_shape import shape_problem

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
#: An answer given at the edge: HTTP status line, headers, body.
Answer = tuple[str, list[tuple[str, str]], bytes]
#: Given a verified request's parsed body, its answer, or None to hand the request to Bolt.
Shortcut = Callable[[dict[str, Any]], Answer | None]

#: Slack's payloads are a few kB; a modal with every field filled stays well under 100 kB.
MAX_BODY = 1_000_000
#: Slack's rule: a request signed more than five minutes ago (or ahead) is a replay.
MAX_AGE = 300
_READ_CHUNK = 65536

# Bolt's own verification logs the whole body of a request it refuses, at INFO. Every request
# that reaches Bolt here is already verified, but a request verified at 299.999 s could be
# refused by Bolt a moment later: that line must never be written.
_BOLT_VERIFICATION_LOGGER = "slack_bolt.RequestVerification"

_STATUS = {
    400: "400 Bad Request",
    401: "401 Unauthorized",
    405: "405 Method Not Allowed",
    411: "411 Length Required",
    413: "413 Content Too Large",
}


class Refused(Exception):
    """A request answered at the edge: status, a sentence for the client, a reason for the log."""

    def __init__(self, status: int, answer: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.answer, self.reason = status, answer, reason


class SlackEdge:
    """WSGI front for Bolt's ``SlackRequestHandler`` that verifies before anything parses."""

    def __init__(
        self,
        handler: SlackRequestHandler,
        *,
        signing_secret: str,
        max_body: int = MAX_BODY,
        clock: Callable[[], float] = time.time,
        shortcut: Shortcut | None = None,
    ) -> None:
        self.handler = handler
        self.shortcut = shortcut
        # Without a signing secret nothing can be verified, so every request is refused.
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.max_body = max_body
        self.clock = clock
        _silence_bolt_verification()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer a refused request here; hand a verified one to Bolt with the body already read."""
        try:
            raw, body = self._verified_body(environ)
        except Refused as refused:
            # One short line: the reason is ours, never the client's bytes.
            logger.info(
                "slack request refused: %s %s (from %s)",
                refused.status,
                refused.reason,
                str(environ.get("REMOTE_ADDR", "?"))[:64],
            )
            start_response(
                _STATUS[refused.status],
                [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
            )
            return [refused.answer.encode()]
        answer = self.shortcut(body) if self.shortcut is not None else None
        if answer is not None:
            status, headers, content = answer
            start_response(status, headers)
            return [content]
        forwarded = dict(environ)
        forwarded["wsgi.input"] = io.BytesIO(raw)
        forwarded["CONTENT_LENGTH"] = str(len(raw))
        return self.handler(forwarded, start_response)

    def _verified_body(self, environ: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        """The raw and parsed body of a signed, fresh, well-formed request; raise Refused
        otherwise."""
        if environ.get("REQUEST_METHOD") != "POST":
            raise Refused(405, "POST only.", "not a POST")
        raw = self._read_capped(environ)
        timestamp = _header(environ, "HTTP_X_SLACK_REQUEST_TIMESTAMP")
        if not timestamp:
            raise Refused(401, "Unsigned request.", "no timestamp")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise Refused(401, "Bad request timestamp.", "timestamp not a number")
        if abs(self.clock() - int(timestamp)) > MAX_AGE:
            raise Refused(401, "Stale request.", "timestamp older than 5 minutes")
        signature = _header(environ, "HTTP_X_SLACK_SIGNATURE")
        if not signature:
            raise Refused(401, "Unsigned request.", "no signature")
        try:
            # slack_sdk's verifier decodes bytes as UTF-8 itself (and would raise on bad input).
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(400, "The body is not UTF-8.", "body not UTF-8") from None
        if self.verifier is None or not self.verifier.is_valid(text, timestamp, signature):
            raise Refused(401, "Bad signature.", "signature does not match")
        body, problem = _parsed(text, environ)
        if problem:
            raise Refused(400, "Malformed Slack payload.", problem)
        return raw, body

    def _read_capped(self, environ: dict[str, Any]) -> bytes:
        """Read at most ``max_body`` bytes; refuse a larger body without reading the rest."""
        declared = str(environ.get("CONTENT_LENGTH") or "").strip()
        if declared and not (declared.isascii() and declared.isdigit()):
            raise Refused(400, "Bad Content-Length.", "content-length not a number")
        if declared and int(declared) > self.max_body:
            raise Refused(413, "Request too large.", f"content-length over {self.max_body}")
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        want = int(declared) if declared else self.max_body + 1
        chunks, size = [], 0
        while size < want:
            chunk = stream.read(min(_READ_CHUNK, want - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > self.max_body:
            raise Refused(413, "Request too large.", f"body over {self.max_body} bytes")
        return b"".join(chunks)


class _NoBodies(logging.Filter):
    """Drops Bolt's "Invalid request signature … body: …" lines (INFO, whole body)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


def _silence_bolt_verification() -> None:
    # A filter, not only a level: Bolt resets the logger's level whenever an App is built.
    bolt = logging.getLogger(_BOLT_VERIFICATION_LOGGER)
    bolt.setLevel(logging.WARNING)
    if not any(isinstance(f, _NoBodies) for f in bolt.filters):
        bolt.addFilter(_NoBodies())


def _header(environ: dict[str, Any], key: str) -> str:
    return str(environ.get(key) or "").strip()


def _parsed(text: str, environ: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The body as Bolt will parse it, and why Bolt could not take it ("" if it can)."""
    content_type = str(environ.get("CONTENT_TYPE") or "").split(";")[0] or None
    try:
        # Bolt's own steps for building its request: parse (JSON, form, payload=), then read
        # ids out of the result; bad JSON or a payload that is not an object raises in there.
        body = parse_body(text, content_type)
        build_context(BoltContext(), body)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError):
        return {}, "body does not parse as Bolt expects"
    return body, shape_problem(body)
