"""Text renderings a person reads in the demo, and the standalone emulator's own pages."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.emulator import Emulator, Message, SharedFile, render_message, render_view
from bot.emulator.server import BackgroundServer, run_wsgi_in_thread


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def test_render_message_shows_header_fields_context_buttons_and_files() -> None:
    message = Message(
        ts="1.000001",
        channel="D1",
        text="fallback",
        blocks=[
            {"type": "header", "text": plain("Order 42 issued")},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Issuer* Test CA"}]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "order 42"}]},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": plain("Renew"), "action_id": "renew"},
                    {"type": "button", "text": plain("Send key"), "action_id": "key"},
                ],
            },
        ],
        files=["F1"],
    )
    files = {"F1": SharedFile("F1", "order-42.pem", "Certificate chain", b"")}
    text = render_message(message, files=files)
    assert "== Order 42 issued ==" in text
    assert "*Issuer* Test CA" in text
    assert "order 42" in text
    assert "[Renew] [Send key]" in text
    assert "[file] order-42.pem (Certificate chain)" in text
    assert "fallback" not in text  # blocks win over the notification text


def test_render_message_marks_ephemeral_and_falls_back_to_text() -> None:
    text = render_message(Message(ts="1.1", channel="C1", text="line one\nline two", user="U1"))
    assert "only visible to U1" in text
    assert "  line two" in text


def test_render_view_shows_labels_values_errors_and_buttons() -> None:
    view = {
        "type": "modal",
        "title": plain("Complete order 42"),
        "submit": plain("Submit"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": "domains",
                "label": plain("Domains"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "v",
                    "initial_value": "example.com\nwww.example.com",
                },
            },
            {
                "type": "input",
                "block_id": "email",
                "label": plain("Applicant email"),
                "element": {
                    "type": "email_text_input",
                    "action_id": "v",
                    "placeholder": plain("you@example.com"),
                },
            },
            {
                "type": "input",
                "block_id": "country",
                "label": plain("Country"),
                "optional": True,
                "element": {
                    "type": "static_select",
                    "action_id": "v",
                    "options": [{"text": plain("United Kingdom"), "value": "GB"}],
                },
            },
        ],
        "state": {
            "values": {
                "country": {
                    "v": {
                        "type": "static_select",
                        "selected_option": {"text": plain("United Kingdom"), "value": "GB"},
                    }
                }
            }
        },
    }
    text = render_view(view, errors={"email": "Enter an email address."})
    assert "Complete order 42" in text
    assert "Domains:" in text and "| example.com" in text and "| www.example.com" in text
    assert "Applicant email: (you@example.com)" in text
    assert "! Enter an email address." in text
    assert "Country (optional): United Kingdom" in text
    assert "[Cancel] [Submit]" in text


@pytest.fixture
def app_stub() -> Iterator[BackgroundServer]:
    """An 'app' that acks every request with a fixed ephemeral message."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"text": "Hello from the app"}']

    server = run_wsgi_in_thread(app)
    yield server
    server.stop()


def test_standalone_pages_render_state_and_act_as_a_person(app_stub: BackgroundServer) -> None:
    from bot.emulator import SlackSide

    with Emulator() as emulator:
        emulator.slack_side = SlackSide(emulator, request_url=app_stub.url)
        form = urlencode({"user_id": "U7", "text": "help"}).encode()
        with urllib.request.urlopen(f"{emulator.base_url}/_emulator/command", data=form) as answer:
            shown = answer.read().decode()
        assert "app answered 200" in shown and "Hello from the app" in shown
        with urllib.request.urlopen(f"{emulator.base_url}/_emulator/") as answer:
            assert "only visible to U7" in answer.read().decode()
