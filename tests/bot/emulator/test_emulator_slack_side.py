"""SlackSide against a tiny Bolt app served over real HTTP, calling back into the emulator."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import Ack, App, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from support.modals import order_modal

from bot.emulator import Emulator, SlackSide, run_wsgi_in_thread
from bot.errors import ValidationError

SECRET = "test-signing-secret"


def build_app(client: WebClient, seen: list[dict[str, Any]]) -> App:
    """A tiny app exercising each kind of request SlackSide sends."""
    app = App(
        client=client,
        signing_secret=SECRET,
        process_before_response=True,
        token_verification_enabled=False,
    )

    @app.command("/cert")
    def command(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        seen.append(body)
        if body["text"] == "help":
            ack(text="Try /cert new")
            return
        ack()
        client.views_open(
            trigger_id=body["trigger_id"],
            view=order_modal(notify_on_close=body["text"] == "notify"),
        )

    @app.view(re.compile("^(new_order|second)$"))
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        seen.append(body)
        values = view["state"]["values"]
        domains = values["domains"]["v"]["value"]
        if "_" in domains:
            ack(response_action="errors", errors={"domains": "Underscores are not allowed."})
            return
        if domains in ("push", "update"):
            ack(response_action=domains, view={**order_modal(), "callback_id": "second"})
            return
        if domains == "clear":
            ack(response_action="clear")
            return
        if domains == "too long":
            title = {"type": "plain_text", "text": "A title far too long for Slack"}
            ack(response_action="update", view={**order_modal(), "title": title})
            return
        ack()
        product = values["product"]["v"]["selected_option"]["value"]
        client.chat_postMessage(
            channel=body["user"]["id"],
            text=f"Order for {domains} ({product})",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": f"Order for {domains}"}},
                {
                    "type": "actions",
                    "block_id": "order",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "approve",
                            "value": "order-7",
                            "text": {"type": "plain_text", "text": "Approve"},
                        },
                    ],
                },
            ],
        )

    @app.view_closed("new_order")
    def closed(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        seen.append(body)

    @app.action("approve")
    def approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        seen.append(body)
        respond(replace_original=True, text=f"Approved {body['actions'][0]['value']}")

    @app.action("refresh")
    def refresh(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        seen.append(body)

    @app.event("app_home_opened")
    def home(event: dict[str, Any], client: WebClient) -> None:
        seen.append(event)
        client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [
                    {
                        "type": "section",
                        "text": {"type": "mrkdwn", "text": "Your orders"},
                        "accessory": {
                            "type": "button",
                            "action_id": "refresh",
                            "value": "all",
                            "text": {"type": "plain_text", "text": "Refresh"},
                        },
                    }
                ],
            },
        )

    return app


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(signing_secret=SECRET) as emulator:
        emulator.add_user("U1", name="alice")
        yield emulator


@pytest.fixture
def seen() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def slack(emulator: Emulator, seen: list[dict[str, Any]]) -> Iterator[SlackSide]:
    client = WebClient(token=emulator.token, base_url=emulator.api_url)
    server = run_wsgi_in_thread(SlackRequestHandler(build_app(client, seen)))
    yield SlackSide(emulator, request_url=f"{server.url}/slack/events")
    server.stop()


def test_slash_command_opens_a_modal(
    emulator: Emulator, slack: SlackSide, seen: list[dict[str, Any]]
) -> None:
    response = slack.slash_command("U1", "new")
    assert response.status == 200
    assert seen[0]["channel_id"] == emulator.dm_channel("U1")
    assert emulator.current_view("U1")["callback_id"] == "new_order"  # type: ignore[index]
    assert [c.ok for c in emulator.calls_to("views.open")] == [True]


def test_ack_text_is_shown_to_the_user_only(emulator: Emulator, slack: SlackSide) -> None:
    slack.slash_command("U1", "help")
    assert [m.text for m in emulator.ephemerals_to("U1")] == ["Try /cert new"]


def test_errors_ack_is_recorded_and_keeps_the_modal_and_input(
    emulator: Emulator, slack: SlackSide
) -> None:
    slack.slash_command("U1", "new")
    response = slack.submit_view("U1", {"domains": "bad_name.example"})
    assert response.json() == {
        "response_action": "errors",
        "errors": {"domains": "Underscores are not allowed."},
    }
    assert emulator.view_errors("U1") == {"domains": "Underscores are not allowed."}
    view = emulator.current_view("U1")
    assert view is not None
    assert view["state"]["values"]["domains"]["v"]["value"] == "bad_name.example"


def test_good_submission_closes_the_modal_and_defaults_keep_initial_option(
    emulator: Emulator, slack: SlackSide, seen: list[dict[str, Any]]
) -> None:
    slack.slash_command("U1", "new")
    slack.submit_view("U1", {"domains": "example.com"})
    assert emulator.current_view("U1") is None
    assert [m.text for m in emulator.dms_to("U1")] == ["Order for example.com (dv)"]
    values = seen[-1]["view"]["state"]["values"]
    assert values["product"]["v"]["selected_option"]["value"] == "dv"
    assert values["csr"]["v"] == {"type": "file_input", "files": []}


def test_select_and_file_values_are_shaped_like_slack(
    emulator: Emulator, slack: SlackSide, seen: list[dict[str, Any]]
) -> None:
    slack.slash_command("U1", "new")
    slack.submit_view(
        "U1",
        {
            "domains": "example.com",
            "product": "ev",
            "csr": [{"filename": "my.csr", "content": b"CSR BYTES"}],
        },
    )
    values = seen[-1]["view"]["state"]["values"]
    assert values["product"]["v"]["selected_option"]["text"]["text"] == "EV"
    [file] = values["csr"]["v"]["files"]
    request = urllib.request.Request(
        file["url_private_download"], headers={"Authorization": f"Bearer {emulator.token}"}
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.read() == b"CSR BYTES"
    with pytest.raises(ValidationError):
        slack.submit_view("U1", {"product": "gold"}, view=order_modal())


def test_empty_required_input_never_reaches_the_app(
    emulator: Emulator, slack: SlackSide, seen: list[dict[str, Any]]
) -> None:
    slack.slash_command("U1", "new")
    response = slack.submit_view("U1", {})
    assert not response.sent
    assert set(emulator.view_errors("U1")) == {"domains"}
    assert len(seen) == 1  # only the command


def test_push_response_action_stacks_a_view(emulator: Emulator, slack: SlackSide) -> None:
    slack.slash_command("U1", "new")
    slack.submit_view("U1", {"domains": "push"})
    assert [v["callback_id"] for v in emulator.view_stack("U1")] == ["new_order", "second"]


def test_update_and_clear_response_actions(emulator: Emulator, slack: SlackSide) -> None:
    slack.slash_command("U1", "new")
    slack.submit_view("U1", {"domains": "push"})
    slack.submit_view("U1", {"domains": "update"})
    stack = emulator.view_stack("U1")
    assert [v["callback_id"] for v in stack] == ["new_order", "second"]
    slack.submit_view("U1", {"domains": "clear"})
    assert emulator.current_view("U1") is None


def test_invalid_view_in_an_ack_is_recorded_as_a_failed_response_action(
    emulator: Emulator, slack: SlackSide
) -> None:
    slack.slash_command("U1", "new")
    slack.submit_view("U1", {"domains": "too long"})
    [call] = emulator.calls_to("response_action")
    assert (call.ok, call.error) == (False, "invalid_arguments")
    assert emulator.current_view("U1")["title"]["text"] == "New order"  # type: ignore[index]


def test_close_sends_view_closed_only_when_asked(
    emulator: Emulator, slack: SlackSide, seen: list[dict[str, Any]]
) -> None:
    slack.slash_command("U1", "new")
    assert not slack.close_view("U1").sent
    slack.slash_command("U1", "notify")
    assert slack.close_view("U1").status == 200
    assert seen[-1]["type"] == "view_closed"
    assert emulator.current_view("U1") is None


def test_click_takes_the_button_value_and_respond_replaces_the_message(
    emulator: Emulator, slack: SlackSide, seen: list[dict[str, Any]]
) -> None:
    slack.slash_command("U1", "new")
    slack.submit_view("U1", {"domains": "example.com"})
    assert slack.click("U1", "approve").status == 200
    action = seen[-1]
    assert action["actions"][0]["value"] == "order-7"
    assert action["container"]["type"] == "message"
    assert [m.text for m in emulator.dms_to("U1")] == ["Approved order-7"]


def test_app_home_opened_publishes_home(
    emulator: Emulator, slack: SlackSide, seen: list[dict[str, Any]]
) -> None:
    assert slack.app_home_opened("U1").status == 200
    assert emulator.home_view("U1")["blocks"][0]["text"]["text"] == "Your orders"  # type: ignore[index]
    slack.click("U1", "refresh", source="home")
    click = seen[-1]
    assert click["container"]["type"] == "view" and click["view"]["type"] == "home"
    assert click["actions"][0]["value"] == "all"


def test_forged_and_stale_signatures_are_refused(
    emulator: Emulator, slack: SlackSide, seen: list[dict[str, Any]]
) -> None:
    body = b"command=%2Fcert&text=new&user_id=U1&trigger_id=x"
    content_type = "application/x-www-form-urlencoded"
    assert slack.send(body, content_type=content_type, signature="v0=" + "0" * 64).status == 401
    stale = int(time.time()) - 600
    assert slack.send(body, content_type=content_type, timestamp=stale).status == 401
    forger = SlackSide(emulator, request_url=slack.request_url, signing_secret="not-the-secret")
    assert forger.slash_command("U1", "new").status == 401
    assert seen == []
    assert emulator.current_view("U1") is None


def test_response_json_helper() -> None:
    from bot.emulator import Response

    assert Response(200, json.dumps({"a": 1})).json() == {"a": 1}
    assert Response(200, "").json() is None
