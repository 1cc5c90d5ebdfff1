"""Prints what each person sees in Slack during the demo, and acts for them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bot.emulator import Emulator, Message, Response, SlackSide, render_message, render_view
from bot.emulator.render import render_blocks
from bot.serve import HttpServer

T = TypeVar("T")
ALICE, BOB, CAROL = "UALICE", "UBOB", "UCAROL"
NAMES = {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}


class Narrator:
    """The demo's voice: a numbered step, then what each person does and sees."""

    def __init__(self, emulator: Emulator, slack: SlackSide, http: HttpServer) -> None:
        self.emulator, self.slack, self.http = emulator, slack, http
        self._seen: dict[str, int] = {}
        self.step = 0

    @property
    def services(self) -> Any:
        return self.http.certdesk.services

    def title(self, text: str) -> None:
        self.step += 1
        print(f"\n{'=' * 72}\n{self.step}. {text}\n{'=' * 72}", flush=True)

    def note(self, text: str) -> None:
        print(f"\n({text})", flush=True)

    def command(self, user: str, text: str) -> Response:
        print(f"\n{NAMES[user]} types: /cert {text}")
        response = self.slack.slash_command(user, text)
        body = response.json() or {}
        if body.get("text") and not body.get("response_action"):
            print(f"\n  certdesk (only visible to {NAMES[user]}):")
            lines = render_blocks(body.get("blocks") or []) or [str(body["text"])]
            print(_indent("\n".join(lines)))
        self.settle()
        return response

    def show_view(self, user: str) -> dict[str, Any]:
        view = self.emulator.current_view(user)
        assert view is not None, "expected a modal"
        print(f"\n  {NAMES[user]} sees a modal:")
        print(_indent(render_view(view, errors=self.emulator.view_errors(user))))
        return view

    def submit(
        self, user: str, values: Mapping[str, object], *, say: str | None = None
    ) -> Response:
        shown = {k: _short(v) for k, v in values.items() if v}
        print(f"\n{NAMES[user]} {say or 'fills in and submits'}" + (f": {shown}" if shown else "."))
        response = self.slack.submit_view(user, dict(values))
        body = response.json() or {}
        if body.get("response_action") == "errors":
            print(f"\n  certdesk answers with field errors — what {NAMES[user]} typed is kept:")
            for block, message in body["errors"].items():
                print(_indent(f"• {block}: {message}"))
        self.settle()
        return response

    def click(self, user: str, action_id: str, message: Message, label: str) -> Response:
        print(f"\n{NAMES[user]} clicks [{label}].")
        response = self.slack.click(user, action_id, message=message)
        self.settle()
        return response

    def settle(self) -> None:
        self.services.background.drain()

    def show_dms(self, user: str) -> list[Message]:
        """Print the DMs (and files) the user got since last time; return them."""
        messages = self.emulator.dms_to(user)
        new = messages[self._seen.get(user, 0) :]
        self._seen[user] = len(messages)
        files = {f.id: f for f in self.emulator.files}
        for message in new:
            print(f"\n  DM to {NAMES[user]}:")
            print(_indent(render_message(message, files=files)))
        return new

    def wait(self, check: Callable[[], T | None], *, what: str, timeout: float = 30.0) -> T:
        """Let the scheduler work until ``check`` is truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.1)
        raise RuntimeError(f"the demo waited {timeout:.0f}s for {what}")

    def dm_with(self, user: str, action_id: str, *, containing: str = "") -> Message | None:
        """The newest DM to ``user`` with a button ``action_id`` (and some text)."""
        for message in reversed(self.emulator.dms_to(user)):
            actions = {
                e.get("action_id")
                for b in message.blocks or []
                if b.get("type") == "actions"
                for e in b.get("elements", [])
            }
            if action_id in actions and containing in message.text:
                return message
        return None

    def latest_ref(self, user: str) -> str:
        """The order ID in the user's newest registration DM."""
        for message in reversed(self.emulator.dms_to(user)):
            match = re.search(r"CD-\d{4}", message.text)
            if match and "registered" in message.text:
                return match.group(0)
        raise RuntimeError("no registration DM found")


def _short(value: object) -> object:
    if isinstance(value, dict) and "filename" in value:  # a file picked in a file input
        return f"[file {value['filename']}]"
    if isinstance(value, str) and len(value) > 60:
        return value[:57] + "…"
    return value


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
