"""The emulator's Socket Mode: apps.connections.open, the WebSocket, envelopes and acks.

The wire format is checked with a plain WebSocket client reading and answering by hand; then
a Bolt app behind slack_sdk's own Socket Mode client handles every kind of envelope.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from slack_bolt import Ack, App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from support.modals import order_modal
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from bot.emulator import Emulator, SocketSlackSide

APP_TOKEN = "xapp-1-A0001-1-test"
ALICE = "UALICE"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(app_token=APP_TOKEN) as emulator:
        emulator.add_user(ALICE, name="alice")
        yield emulator


def open_url(emu: Emulator, app_token: str = APP_TOKEN) -> str:
    client = WebClient(token=emu.token, base_url=emu.api_url)
    return str(client.apps_connections_open(app_token=app_token)["url"])


def refused(emu: Emulator, app_token: str) -> str:
    with pytest.raises(SlackApiError) as raised:
        open_url(emu, app_token)
    return str(raised.value.response["error"])


def test_apps_connections_open_checks_the_app_level_token(emu: Emulator) -> None:
    url = open_url(emu)
    assert url.startswith(f"ws://127.0.0.1:{emu.socket_mode.port}/link/?ticket=")
    assert url.endswith("&app_id=A0001")
    assert refused(emu, "xapp-1-A0001-1-wrong") == "invalid_auth"
    assert refused(emu, emu.token) == "not_allowed_token_type"  # a bot token opens no socket
    # The token in the body, not the Authorization header, is not accepted.
    form = f"token={APP_TOKEN}".encode()
    with urllib.request.urlopen(f"{emu.api_url}apps.connections.open", data=form) as answer:
        assert json.loads(answer.read()) == {"ok": False, "error": "not_authed"}
    # Nor does the app-level token work for anything but opening sockets.
    with pytest.raises(SlackApiError) as raised:
        WebClient(token=APP_TOKEN, base_url=emu.api_url).auth_test()
    assert raised.value.response["error"] == "not_allowed_token_type"
    calls = emu.calls_to("apps.connections.open")
    assert [(c.ok, c.error) for c in calls] == [
        (True, None),
        (False, "invalid_auth"),
        (False, "not_allowed_token_type"),
        (False, "not_authed"),
    ]
    assert all(APP_TOKEN not in json.dumps(c.args) for c in calls)


def test_a_url_connects_once_and_slack_says_hello(emu: Emulator) -> None:
    url = open_url(emu)
    with connect(url) as app:
        hello = json.loads(app.recv(timeout=5))
        assert hello == {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {
                "host": "applink-emulated",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": "A0001"},
        }
        emu.socket_mode.wait_for_link()
        with pytest.raises(InvalidStatus) as again:
            connect(url)
        assert again.value.response.status_code == 401
        with connect(open_url(emu)) as second:
            assert json.loads(second.recv(timeout=5))["num_connections"] == 2


class HandAnswered:
    """An app answering by hand: records each message, acks envelopes with what ``answer`` says."""

    def __init__(
        self,
        connection: ClientConnection,
        answer: Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        acks: bool,
    ) -> None:
        self.connection = connection
        self.hello = json.loads(connection.recv(timeout=5))
        self.received: list[dict[str, Any]] = []
        self._answer, self._acks = answer, acks
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for raw in self.connection:
                message = json.loads(raw)
                self.received.append(message)
                if "envelope_id" in message and self._acks:
                    ack = {"envelope_id": message["envelope_id"]}
                    payload = self._answer(message)
                    if payload is not None:
                        ack["payload"] = payload
                    self.connection.send(json.dumps(ack))
        except ConnectionClosed:
            pass

    def closed_with(self) -> int | None:
        """The close code Slack sent, once the connection has ended."""
        self._thread.join(timeout=5)
        return self.connection.close_code


@contextmanager
def hand_answered(
    emu: Emulator,
    answer: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda envelope: None,
    *,
    acks: bool = True,
) -> Iterator[HandAnswered]:
    """Connect a hand-answering app for the duration of the block."""
    with connect(open_url(emu)) as connection:
        app = HandAnswered(connection, answer, acks=acks)
        emu.socket_mode.wait_for_link()
        yield app
    app.closed_with()


def test_envelopes_are_shaped_as_slack_sends_them_and_acks_come_back(emu: Emulator) -> None:
    def answer(envelope: dict[str, Any]) -> dict[str, Any] | None:
        payload = envelope["payload"]
        if envelope["type"] == "slash_commands":
            return {"response_type": "ephemeral", "text": f"you typed {payload['text']}"}
        if payload.get("type") == "view_submission":
            return {"response_action": "errors", "errors": {"domains": "Not a domain."}}
        return None

    slack = SocketSlackSide(emu, emu.socket_mode)
    with hand_answered(emu, answer) as app:
        response = slack.slash_command(ALICE, "list")
        assert response.status == 200
        assert response.json() == {"response_type": "ephemeral", "text": "you typed list"}
        assert [m.text for m in emu.ephemerals_to(ALICE)] == ["you typed list"]
        envelope = app.received[-1]
        assert set(envelope) == {"envelope_id", "payload", "type", "accepts_response_payload"}
        assert envelope["type"] == "slash_commands" and envelope["accepts_response_payload"]
        assert envelope["payload"]["command"] == "/cert"
        assert envelope["payload"]["user_id"] == ALICE and envelope["payload"]["trigger_id"]

        client = WebClient(token=emu.token, base_url=emu.api_url)
        client.views_open(trigger_id=emu.new_trigger_id(ALICE), view=order_modal())
        response = slack.submit_view(ALICE, {"domains": "not a domain"})
        assert response.json() == {
            "response_action": "errors",
            "errors": {"domains": "Not a domain."},
        }
        assert emu.view_errors(ALICE) == {"domains": "Not a domain."}
        envelope = app.received[-1]
        assert envelope["type"] == "interactive" and envelope["accepts_response_payload"]
        assert envelope["payload"]["type"] == "view_submission"

        assert slack.app_home_opened(ALICE).body == ""
        envelope = app.received[-1]
        assert envelope["type"] == "events_api" and not envelope["accepts_response_payload"]
        assert (envelope["retry_attempt"], envelope["retry_reason"]) == (0, "")
        assert envelope["payload"]["type"] == "event_callback"
        assert envelope["payload"]["event"]["type"] == "app_home_opened"
        ids = [e["envelope_id"] for e in app.received if "envelope_id" in e]
        assert len(set(ids)) == len(ids) == 3


def test_no_connection_and_no_ack_are_told_apart(emu: Emulator) -> None:
    slack = SocketSlackSide(emu, emu.socket_mode, ack_timeout=0.3)
    with pytest.raises(ConnectionError):
        slack.slash_command(ALICE, "help")
    with hand_answered(emu, acks=False) as silent:
        with pytest.raises(TimeoutError):
            slack.slash_command(ALICE, "help")
        assert silent.received[-1]["type"] == "slash_commands"


def test_slack_drops_connections_with_a_disconnect_message_or_a_close(emu: Emulator) -> None:
    with hand_answered(emu) as warned:
        assert emu.socket_mode.drop("disconnect", reason="warning", grace=0.2) == 1
        assert not emu.socket_mode.connected  # nothing more is sent on a connection told to go
        assert warned.closed_with() == 1001
        assert warned.received == [
            {"type": "disconnect", "reason": "warning", "debug_info": {"host": "applink-emulated"}}
        ]
    with hand_answered(emu) as closed:
        assert emu.socket_mode.drop("close") == 1
        assert closed.closed_with() == 1001 and closed.received == []
    with hand_answered(emu) as aborted:
        assert emu.socket_mode.drop("abort") == 1
        assert aborted.closed_with() == 1006  # no closing handshake at all
    assert emu.socket_mode.hellos == 3


@pytest.fixture
def bolt_app(emu: Emulator) -> Iterator[tuple[App, list[str]]]:
    """A Bolt app behind slack_sdk's built-in Socket Mode client, as certdesk runs it."""
    heard: list[str] = []
    client = WebClient(token=emu.token, base_url=emu.api_url)
    app = App(client=client, process_before_response=True)

    @app.command("/cert")
    def command(ack: Ack, command: dict[str, Any]) -> None:
        heard.append(f"command {command['text']}")
        client.views_open(trigger_id=command["trigger_id"], view=order_modal(notify_on_close=True))
        ack(f"opening {command['text']}")

    @app.view("new_order")
    def submitted(ack: Ack, view: dict[str, Any]) -> None:
        domains = view["state"]["values"]["domains"]["v"]["value"]
        heard.append(f"submitted {domains}")
        ack(response_action="errors", errors={"domains": f"{domains} is taken"})

    @app.view_closed("new_order")
    def closed(ack: Ack) -> None:
        heard.append("closed")
        ack()

    @app.event("app_home_opened")
    def home(event: dict[str, Any]) -> None:
        heard.append(f"home {event['user']}")

    handler = SocketModeHandler(app, APP_TOKEN, web_client=client)
    handler.connect()
    emu.socket_mode.wait_for_link()
    yield app, heard
    handler.close()


def test_a_bolt_app_handles_every_kind_of_envelope(
    emu: Emulator, bolt_app: tuple[App, list[str]]
) -> None:
    _, heard = bolt_app
    slack = SocketSlackSide(emu, emu.socket_mode)
    response = slack.slash_command(ALICE, "new")
    assert response.json() == {"text": "opening new"}
    assert [m.text for m in emu.ephemerals_to(ALICE)] == ["opening new"]
    response = slack.submit_view(ALICE, {"domains": "example.com"})
    assert response.json() == {
        "response_action": "errors",
        "errors": {"domains": "example.com is taken"},
    }
    assert emu.view_errors(ALICE) == {"domains": "example.com is taken"}
    assert slack.close_view(ALICE).status == 200
    assert emu.current_view(ALICE) is None
    assert slack.app_home_opened(ALICE).status == 200
    # process_before_response: each listener has run by the time its ack arrives.
    assert heard == ["command new", "submitted example.com", "closed", f"home {ALICE}"]
