"""Malformed, unsigned, oversized and stale requests at Slack's request URL, over real HTTP.

Every request is answered 400, 401 or 413 at the edge (or, when it is signed and well formed,
by Bolt): never a 500, never a traceback in the log, no log line longer than 2 kB, and no
request body in the log.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import http.client
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from support.app_fixtures import ALICE, SECRET, TEAM, Running
from support.logs import Lines

from bot.edge import MAX_BODY
from bot.views import ids

MARKER = "BODY-MARKER-7f3a"  # in every body: it must never reach the log
LOGGERS = ("", "slack_bolt", "slack_sdk", "waitress", "bot", "handlers", "sqlalchemy.engine")


@dataclass(frozen=True)
class Shot:
    """One request: its body, headers, and the statuses it may get."""

    name: str
    body: bytes
    headers: dict[str, str]
    allowed: frozenset[int]


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    handler = Lines()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def sign(body: bytes, timestamp: str) -> str:
    """Slack's signature over the raw bytes (even bytes that are not UTF-8)."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()


def signed(name: str, body: bytes, content_type: str, allowed: set[int]) -> Shot:
    ts = str(int(time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sign(body, ts),
    }
    return Shot(name, body, headers, frozenset(allowed))


def form_payload(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def base_action() -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": ALICE, "username": "alice", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "emulated"},
        "api_app_id": "A0001",
        "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D1"},
        "channel": {"id": "D1", "name": "directmessage"},
        "message": {"ts": "1.1", "text": MARKER, "blocks": []},
        "actions": [
            {"action_id": ids.SHOW_STATUS, "block_id": "b", "type": "button", "value": "1"}
        ],
    }


def base_submission() -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": ALICE, "username": "alice", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "emulated"},
        "api_app_id": "A0001",
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": ids.NEW_ORDER,
            "private_metadata": MARKER,
            "hash": "h",
            "blocks": [{"type": "input", "block_id": ids.PRODUCT}],
            "state": {
                "values": {
                    ids.PRODUCT: {
                        "a": {"type": "static_select", "selected_option": {"value": "dv"}}
                    }
                }
            },
        },
        "response_urls": [],
    }


WRONG = [7, 3.5, True, None, [], {}, "x" * 300, [MARKER], {"id": 5}]
#: Strings whose content only the listener can judge (an order id, the modal's own metadata).
FREE_TEXT = ("value", "private_metadata")
PATHS = [
    ("user",),
    ("user", "id"),
    ("team",),
    ("actions",),
    ("actions", 0),
    ("actions", 0, "action_id"),
    ("actions", 0, "value"),
    ("view",),
    ("view", "private_metadata"),
    ("view", "state"),
    ("view", "state", "values"),
    ("view", "state", "values", ids.PRODUCT),
    ("view", "blocks"),
    ("message", "metadata"),
    ("type",),
]


def mutated(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any] | None:
    """``payload`` with the field at ``path`` replaced by ``value`` (None if there is none)."""
    copied = copy.deepcopy(payload)
    target: Any = copied
    for step in path[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return None
    target[path[-1]] = value
    return copied


def shots() -> list[Shot]:
    now = int(time.time())
    form = "application/x-www-form-urlencoded"
    command = urlencode(
        {"command": "/cert", "text": f"help {MARKER}", "user_id": ALICE, "team_id": TEAM}
        | {"trigger_id": "1.2.3", "channel_id": "D1", "response_url": "http://127.0.0.1:9/x"}
    ).encode()
    out: list[Shot] = []
    bodies = [
        b"{not json " + MARKER.encode(),
        b"payload=%7Bnot+json" + MARKER.encode(),
        b"\xff\xfe\x00bad utf-8 " + MARKER.encode(),
        b"payload=" + MARKER.encode(),
        command,
        MARKER.encode() * 5000,
    ]
    # Unsigned, forged, stale, or with timestamps Bolt would choke on.
    stamps = ["", "abc", "1e9", " 12 ", "-5", "\u0661\u0662", "9" * 40, str(now - 301)]
    stamps += [str(now - 86400), str(now + 10_000), "0"]
    for index, body in enumerate(bodies):
        out.append(Shot(f"unsigned-{index}", body, {"Content-Type": form}, frozenset({400, 401})))
        for stamp in stamps:
            headers = {"Content-Type": form, "X-Slack-Request-Timestamp": stamp}
            headers["X-Slack-Signature"] = sign(body, stamp) if stamp.isascii() else "v0=00"
            out.append(Shot(f"stamp-{stamp[:8]}", body, headers, frozenset({400, 401})))
        ts = str(now)
        for forged in ("v0=deadbeef", "v1=" + sign(body, ts)[3:], sign(body + b"x", ts), "v0="):
            headers = {"Content-Type": form, "X-Slack-Request-Timestamp": ts}
            out.append(
                Shot("forged", body, headers | {"X-Slack-Signature": forged}, frozenset({400, 401}))
            )
    # Too large, signed or not.
    big = b"payload=" + b"A" * (MAX_BODY + 1)
    out.append(signed("oversized-signed", big, form, {413}))
    out.append(Shot("oversized", big, {"Content-Type": form}, frozenset({413})))
    out.append(Shot("huge", b"B" * (5 * MAX_BODY), {"Content-Type": form}, frozenset({413})))
    # Signed but malformed: the edge answers 400 before Bolt parses.
    for body, kind in [
        (b"payload=%7Bnot+json", form),
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
        (b"payload=null", form),
        (b"payload=%5B%5D", form),
        (b"payload=12", form),
        (("payload=" + "\u00e9" * 10).encode("latin-1"), form),
        (b"\xc3\x28 not utf-8", form),
        (b"payload=" + urlencode({"x": MARKER}).encode(), form),
        (urlencode({"command": "/cert", "text": "help"}).encode(), form),
        (b"", form),
        (json.dumps({"type": 5}).encode(), "application/json"),
        (json.dumps({"type": "event_callback", "event": "x"}).encode(), "application/json"),
    ]:
        out.append(signed("signed-malformed", body, kind, {400, 401}))
    # Signed, well formed at the top, wrong types inside (what a listener would index into).
    for payload in (base_action(), base_submission()):
        for path in PATHS:
            for value in WRONG:
                if isinstance(value, str) and path[-1] in FREE_TEXT:
                    continue  # a string is the right type there: what it means is the listener's
                changed = mutated(payload, path, value)
                if changed is not None:
                    out.append(
                        signed(f"typed-{path}", form_payload(changed), form, {200, 400, 404})
                    )
    # Signed and well formed: they still work.
    out.append(signed("help", command, form, {200}))
    return out


def post(url: str, shot: Shot) -> int:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        # Raw UTF-8 header bytes, as a hostile client may send (http.client wants latin-1).
        headers = {name: value.encode() for name, value in shot.headers.items()}
        connection.request("POST", "/slack/events", body=shot.body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except (ConnectionResetError, BrokenPipeError):
        return 413  # the server answered 413 and closed before the whole body was sent
    finally:
        connection.close()


def test_hostile_requests_get_short_answers_and_short_logs(
    certdesk: Running, log_lines: Lines
) -> None:
    planned = shots()
    assert len(planned) >= 150
    answers = [(shot, post(certdesk.http.url, shot)) for shot in planned]
    certdesk.settle()

    wrong = [(s.name, status) for s, status in answers if status not in s.allowed]
    assert not wrong, wrong[:10]
    assert all(status != 500 for _, status in answers)
    assert [s for s, status in answers if s.name == "help" and status == 200]
    tracebacks = [t[:300] for t in log_lines.texts if "Traceback" in t]
    assert not tracebacks, tracebacks[:3]
    assert not [r for r in log_lines.records if r.exc_info]
    longest = max((len(line) for t in log_lines.texts for line in t.splitlines()), default=0)
    assert longest < 2048, longest
    assert not [t[:200] for t in log_lines.texts if MARKER in t]
    refusals = [t for t in log_lines.texts if t.startswith("slack request refused")]
    assert len(refusals) >= 100 and max(len(t) for t in refusals) < 200
