"""The edge in front of Bolt, called as WSGI: what it refuses, what it reads, what reaches Bolt."""

from __future__ import annotations

import io
import logging
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from support.signed import signed_environ

from bot.edge import SlackEdge
from bot.payload_shape import shape_problem

SECRET = "edge-secret"
COMMAND = urlencode(
    {"command": "/cert", "text": "help", "user_id": "U1", "team_id": "T1", "trigger_id": "1.2"}
).encode()


class Unreadable(io.BytesIO):
    """A body that must not be read."""

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("the edge read a body it should have refused unread")


class Recorder:
    """Stands in for Bolt's handler: records what reaches it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.bodies.append(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        start_response("200 OK", [])
        return [b""]


def environ(body: bytes, **given: Any) -> dict:
    return signed_environ(body, secret=SECRET, **given)


def call(edge: SlackEdge, env: dict) -> str:
    statuses: list[str] = []
    edge(env, lambda status, headers: statuses.append(status))
    return statuses[0]


def test_a_verified_request_reaches_the_handler_with_its_body() -> None:
    recorder = Recorder()
    edge = SlackEdge(recorder, signing_secret=SECRET)  # type: ignore[arg-type]
    assert call(edge, environ(COMMAND)) == "200 OK"
    assert recorder.bodies == [COMMAND]


def test_too_large_is_refused_without_reading_and_without_a_length_after_the_cap() -> None:
    recorder = Recorder()
    edge = SlackEdge(recorder, signing_secret=SECRET, max_body=100)  # type: ignore[arg-type]
    env = environ(b"x" * 101)
    env["wsgi.input"] = Unreadable()
    assert call(edge, env).startswith("413")
    # No Content-Length (a chunked body): read up to the cap plus one byte, then refuse.
    stream = io.BytesIO(b"y" * 10_000)
    env = environ(b"", CONTENT_LENGTH="", **{"wsgi.input": stream})
    assert call(edge, env).startswith("413") and stream.tell() == 101
    assert recorder.bodies == []


@pytest.mark.parametrize(
    ("env", "status"),
    [
        (environ(COMMAND, sign=False), "401"),
        (environ(COMMAND, ts="12a"), "401"),
        (environ(COMMAND, ts=str(int(time.time()) - 301)), "401"),
        (environ(COMMAND, CONTENT_LENGTH="ten"), "400"),
        (environ(COMMAND, REQUEST_METHOD="GET"), "405"),
        (environ(b"\xff\xfe"), "400"),
        (environ(b"payload=%7B"), "400"),
        (environ(COMMAND, HTTP_X_SLACK_SIGNATURE="v0=" + "0" * 64), "401"),
    ],
)
def test_refusals(env: dict, status: str) -> None:
    recorder = Recorder()
    edge = SlackEdge(recorder, signing_secret=SECRET)  # type: ignore[arg-type]
    assert call(edge, env).startswith(status)
    assert recorder.bodies == []


def test_no_signing_secret_refuses_everything() -> None:
    recorder = Recorder()
    edge = SlackEdge(recorder, signing_secret="")  # type: ignore[arg-type]
    assert call(edge, environ(COMMAND)).startswith("401") and recorder.bodies == []


@pytest.mark.parametrize("edge_first", [False, True])
def test_bolt_never_logs_a_body_it_refuses(
    caplog: pytest.LogCaptureFixture, edge_first: bool
) -> None:
    marker = b"&note=BOLT-MUST-NOT-LOG-THIS"
    with caplog.at_level(logging.DEBUG):  # logging set up before the app, as at start-up
        if edge_first:  # another edge made earlier; Bolt's App resets its logger's level
            SlackEdge(Recorder(), signing_secret=SECRET)  # type: ignore[arg-type]
        # Bolt with another secret refuses what the edge verified; it would log the body.
        app = App(
            token="xoxb-x", signing_secret="not-the-edge-secret", token_verification_enabled=False
        )
        edge = SlackEdge(SlackRequestHandler(app), signing_secret=SECRET)
        assert call(edge, environ(COMMAND + marker)).startswith("401")
    assert not [r for r in caplog.records if "BOLT-MUST-NOT-LOG-THIS" in r.getMessage()]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"}}, "no actions"),
        ({"type": "block_actions", "user": "U1", "team": {"id": "T1"}, "actions": []}, "user"),
        ({"type": "view_submission", "user": {"id": "U1"}, "team": None, "view": {}}, "team"),
        ({"type": "mystery", "user": {"id": "U1"}}, "unknown"),
        ({"command": "/cert", "user_id": "U1"}, "without team_id"),
        ([], "not an object"),
    ],
)
def test_shapes_slack_never_sends(body: Any, problem: str) -> None:
    assert problem in shape_problem(body)


def test_shapes_slack_sends() -> None:
    action = {"action_id": "a", "block_id": "b", "value": "1", "type": "button"}
    assert (
        shape_problem(
            {
                "type": "block_actions",
                "user": {"id": "U1"},
                "team": {"id": "T1"},
                "actions": [action],
            }
        )
        == ""
    )
    assert shape_problem({"type": "url_verification", "challenge": "c", "token": "t"}) == ""
    assert (
        shape_problem({"command": "/cert", "user_id": "U", "team_id": "T", "trigger_id": "x"}) == ""
    )
