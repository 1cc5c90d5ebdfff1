"""`/cert` answered at the edge (bot.quick): Bolt's answer (the same status, headers and JSON
document), and only when Bolt's own checks would have let the request through to the same
listener."""

from __future__ import annotations

import contextvars
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from support.app_fixtures import ADMIN, ALICE, BOB, SECRET, TEAM, Running
from support.journeys import register
from support.signed import signed_environ

from bot import quick
from bot.edge import SlackEdge
from bot.emulator import Emulator
from bot.web import make_wsgi_app


def signed(form: dict[str, str]) -> dict[str, Any]:
    """A WSGI environ for a slash command signed as Slack signs it."""
    return signed_environ(urlencode(form).encode(), secret=SECRET)


def command(user: str, text: str, **extra: str) -> dict[str, str]:
    return {
        "command": "/cert",
        "text": text,
        "user_id": user,
        "team_id": TEAM,
        "channel_id": "D0TEST",
        "trigger_id": "1.2.test",
        "response_url": "http://127.0.0.1:9/response",
        **extra,
    }


class Paths:
    """certdesk's WSGI app (with the shortcut) and Bolt alone behind the same edge checks."""

    def __init__(self, certdesk: Running, monkeypatch: pytest.MonkeyPatch) -> None:
        app, services = certdesk.http.certdesk.app, certdesk.services
        self.edge = make_wsgi_app(app, services)
        self.bolt = SlackEdge(SlackRequestHandler(app), signing_secret=SECRET)
        self.dispatched = 0
        dispatch = app.dispatch

        def counted(request: Any) -> Any:
            self.dispatched += 1
            return dispatch(request)

        monkeypatch.setattr(app, "dispatch", counted)

    def call(self, wsgi: Any, form: dict[str, str]) -> tuple[str, list, bytes]:
        got: list[Any] = []

        def answer() -> bytes:
            return b"".join(
                wsgi(signed(form), lambda status, headers: got.extend([status, headers]))
            )

        # In a context of its own, as a server thread runs each request: the log context the
        # edge binds stays out of the tests that run after this one on the same thread.
        body = contextvars.copy_context().run(answer)
        return got[0], got[1], body

    def both(self, form: dict[str, str]) -> tuple[tuple, tuple, bool]:
        """(edge's answer, Bolt's answer, whether the edge answered without Bolt)."""
        before = self.dispatched
        edge = self.call(self.edge, form)
        quick_answered = self.dispatched == before
        return edge, self.call(self.bolt, form), quick_answered


@pytest.fixture
def paths(certdesk: Running, monkeypatch: pytest.MonkeyPatch) -> Paths:
    return Paths(certdesk, monkeypatch)


def same_answer(edge: tuple[str, list, bytes], bolt: tuple[str, list, bytes]) -> bool:
    """The same status and headers (but the length, which each gives true to its own body),
    and the same body: as JSON if it is."""
    (status, headers, body), (bolt_status, bolt_headers, bolt_body) = edge, bolt
    for given, content in ((headers, body), (bolt_headers, bolt_body)):
        length = {k.lower(): v for k, v in given}.get("content-length")
        if length is not None and int(length) != len(content):
            return False

    def named(given: list) -> dict[str, str]:
        return {k.lower(): v for k, v in given if k.lower() != "content-length"}

    if (status, named(headers)) != (bolt_status, named(bolt_headers)):
        return False
    if named(headers).get("content-type", "").startswith("application/json"):
        return bool(json.loads(body) == json.loads(bolt_body))
    return body == bolt_body


def test_answers_are_bolts(certdesk: Running, paths: Paths) -> None:
    ref = register(certdesk, ALICE)
    paths.call(paths.bolt, command(ALICE, "help"))  # Bolt authorizes once
    for user, text in [
        (ALICE, "help"),
        (ALICE, ""),
        (ALICE, "frobnicate <!channel> & more"),
        (ALICE, "list"),
        (ALICE, "list waiting"),
        (ALICE, "list example.com"),
        (ALICE, "list nonsense-word"),
        (ALICE, "list all"),  # not an admin: refused in words
        (ADMIN, "list all"),
        (BOB, "list"),
        (ALICE, f"status {ref}"),
        (BOB, f"status {ref}"),  # not hers: refused in words
        (ALICE, "status CD-99999"),
        (ALICE, "status"),
        (ALICE, "status <@U1>"),
        (ALICE, "approvals"),
        (ADMIN, "admin list"),
    ]:
        edge, bolt, quick_answered = paths.both(command(user, text))
        assert quick_answered, text
        assert same_answer(edge, bolt), text
        assert edge[0] == "200 OK"
    listed = json.loads(paths.both(command(ALICE, "list"))[0][2])
    assert ref in listed["text"] and listed["response_type"] == "ephemeral"
    refused = json.loads(paths.both(command(BOB, f"status {ref}"))[0][2])
    assert "don't have access" in refused["text"]


def test_nothing_is_answered_before_bolt_has_authorized_a_request(
    certdesk: Running, paths: Paths
) -> None:
    edge, bolt, quick_answered = paths.both(command(ALICE, "help"))
    assert not quick_answered and same_answer(edge, bolt)
    assert paths.both(command(ALICE, "help"))[2]


@pytest.mark.parametrize(
    ("form", "why"),
    [
        (command(ALICE, "new"), "opens a modal: needs Bolt's client"),
        (command(ALICE, "complete CD-0001"), "another surface's word"),
        (command(ALICE, "cancel CD-0001"), "another surface's word"),
        (command(ALICE, "help", ssl_check="1"), "Bolt's SSL check answers it"),
        (command(ALICE, "help") | {"command": "/other"}, "not certdesk's command"),
    ],
)
def test_what_only_bolt_answers(paths: Paths, form: dict[str, str], why: str) -> None:
    paths.call(paths.bolt, command(ALICE, "help"))
    before = paths.dispatched
    paths.call(paths.edge, form)
    assert paths.dispatched == before + 1, why


def test_an_unexpected_error_is_bolts_500_with_an_incident(
    certdesk: Running, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths.call(paths.bolt, command(ALICE, "help"))
    shortcut = quick.for_app(certdesk.http.certdesk.app)
    assert shortcut is not None

    def broken(*_: Any, **__: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(shortcut.commands, "answer", broken)
    for text in ("help", "list"):  # a failed help is not kept
        status, _, body = paths.call(paths.edge, command(ALICE, text))
        assert status.startswith("500") and body.startswith(b"incident "), text
    monkeypatch.undo()
    assert paths.call(paths.edge, command(ALICE, "help"))[0] == "200 OK"


def test_refusals_at_the_edge_are_the_same(paths: Paths) -> None:
    paths.call(paths.bolt, command(ALICE, "help"))
    form = command(ALICE, "help")
    environ = signed(form)
    environ["HTTP_X_SLACK_SIGNATURE"] = "v0=" + "0" * 64
    got: list[Any] = []
    paths.edge(environ, lambda status, headers: got.append(status))
    assert got == ["401 Unauthorized"]
    stale = signed(form)
    stale["HTTP_X_SLACK_REQUEST_TIMESTAMP"] = str(int(time.time()) - 301)
    paths.edge(stale, lambda status, headers: got.append(status))
    assert got[-1] == "401 Unauthorized"
    unshaped = command(ALICE, "help")
    del unshaped["team_id"]
    assert paths.call(paths.edge, unshaped)[0] == "400 Bad Request"


def test_many_workspaces_always_go_through_bolt(emulator: Emulator, start_certdesk: Any) -> None:
    running = start_certdesk(
        SLACK_BOT_TOKEN="",  # OAuth mode: each request needs its workspace's installation
        SLACK_CLIENT_ID=emulator.installs.client_id,
        SLACK_CLIENT_SECRET=emulator.installs.client_secret,
    )
    assert quick.for_app(running.http.certdesk.app) is None


def test_the_edge_encodes_only_what_bolt_would_send_as_is() -> None:
    from slack_bolt.context.ack import Ack
    from slack_sdk.models.blocks import SectionBlock

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "é <!channel> \u2028"}}]
    fields = {"text": "CD-0001 ✓", "blocks": blocks, "response_type": "ephemeral"}
    encoded = quick.acked_json(fields)
    assert encoded is not None
    assert json.loads(encoded) == json.loads(Ack()(**fields).body)
    # Bolt converts model objects, answers a bare text as plain text, and shapes modal acks.
    assert quick.acked_json({**fields, "blocks": [SectionBlock(text="hi")]}) is None
    assert quick.acked_json({"text": "plain"}) is None
    assert quick.acked_json({"response_action": "errors", "errors": {"a": "b"}}) is None
