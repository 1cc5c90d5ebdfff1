"""`certdesk demo`: the whole journey offline — emulator, SQLite and the simulated CA together."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.app import create
from bot.config import Settings
from bot.emulator import Emulator, Response, SlackSide, render_message, render_view
from bot.serve import HttpServer, start_http
from bot.views import ids

TOKEN, SECRET = "xoxb-demo-token", "demo-signing-secret"
ALICE, BOB = "UALICE", "UBOB"
NAMES = {ALICE: "Alice", BOB: "Bob"}


class Narrator:
    """Prints what each person sees in Slack, step by step."""

    def __init__(self, emulator: Emulator, slack: SlackSide, http: HttpServer) -> None:
        self.emulator, self.slack, self.http = emulator, slack, http
        self._seen: dict[str, int] = {}
        self.step = 0

    def title(self, text: str) -> None:
        self.step += 1
        print(f"\n{'=' * 72}\n{self.step}. {text}\n{'=' * 72}")

    def command(self, user: str, text: str) -> Response:
        print(f"\n{NAMES[user]} types: /cert {text}")
        response = self.slack.slash_command(user, text)
        self.show_reply(user, response)
        return response

    def show_reply(self, user: str, response: Response) -> None:
        body = response.json() or {}
        if body.get("text") and not body.get("response_action"):
            print(f"\n  certdesk (only visible to {NAMES[user]}):")
            print(_indent(render_message_dict(body)))
        self.settle()

    def show_view(self, user: str) -> dict[str, Any]:
        view = self.emulator.current_view(user)
        assert view is not None, "expected a modal"
        print(f"\n  {NAMES[user]} sees a modal:")
        print(_indent(render_view(view, errors=self.emulator.view_errors(user))))
        return view

    def submit(self, user: str, values: Mapping[str, object]) -> Response:
        shown = {k: v for k, v in values.items() if v}
        if shown:
            print(f"\n{NAMES[user]} fills in and submits: {shown}")
        response = self.slack.submit_view(user, dict(values))
        body = response.json() or {}
        if body.get("response_action") == "errors":
            print(f"\n  certdesk answers with field errors — {NAMES[user]}'s typing is kept:")
            for block, message in body["errors"].items():
                print(_indent(f"• {block}: {message}"))
        self.settle()
        return response

    def settle(self) -> None:
        self.http.certdesk.services.background.drain()

    def show_dms(self, user: str) -> None:
        """Print the DMs (and files) the user got since last time."""
        messages = self.emulator.dms_to(user)
        new = messages[self._seen.get(user, 0) :]
        self._seen[user] = len(messages)
        files = {f.id: f for f in self.emulator.files}
        for message in new:
            print(f"\n  DM to {NAMES[user]}:")
            print(_indent(render_message(message, files=files)))


def render_message_dict(body: dict[str, Any]) -> str:
    """Render an ack body (text + blocks) like a message."""
    from bot.emulator.render import render_blocks

    lines = render_blocks(body.get("blocks") or [])
    return "\n".join(lines) if lines else str(body.get("text", ""))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def run_demo(*, data_dir: str | None = None) -> int:
    """Run the journey; return the exit status."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    root = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="certdesk-demo-"))
    with Emulator(token=TOKEN, signing_secret=SECRET) as emulator:
        emulator.add_user(ALICE, name="alice", tz="Europe/London")
        emulator.add_user(BOB, name="bob", tz="America/New_York")
        settings = Settings.load(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": emulator.api_url,
                "CERTDESK_DATA_DIR": str(root),
                "CERTDESK_WORKING_HOURS": "any",
                "CERTDESK_SIM_REVIEW_DELAY": "1s",
            }
        )
        http = start_http(create(settings))
        try:
            slack = SlackSide(
                emulator, request_url=f"{http.url}/slack/events", signing_secret=SECRET
            )
            narrator = Narrator(emulator, slack, http)
            print(f"certdesk demo — data in {root}; Slack emulator at {emulator.base_url}")
            journey(narrator)
        finally:
            http.stop()
            if not data_dir:
                shutil.rmtree(root, ignore_errors=True)
    print("\nDemo finished.")
    return 0


def journey(n: Narrator) -> None:
    """The steps of the demo, in the order a team lives them."""
    n.title("Alice asks certdesk what it does")
    n.command(ALICE, "help")

    n.title("Alice registers a DV certificate for three domains she bought")
    n.command(ALICE, "new")
    n.show_view(ALICE)
    n.submit(
        ALICE,
        {ids.PRODUCT: "dv", ids.DOMAIN_TYPE: "multi", ids.DOMAIN_COUNT: "3", ids.VALIDITY: "200"},
    )
    n.show_dms(ALICE)
    dv = latest_ref(n, ALICE)

    n.title(f"Alice completes {dv}: one domain mistyped, then corrected")
    n.command(ALICE, f"complete {dv}")
    n.show_view(ALICE)
    typed = {
        ids.DOMAINS: "example.com\nwww.example.com\nshop.exa_mple.com",
        ids.APPLICANT_NAME: "Alice Example",
        ids.APPLICANT_EMAIL: "admin@example.com",
        ids.APPLICANT_PHONE: "+44 20 7946 0958",
        ids.CSR_METHOD: "system",
        ids.KEY_ALGORITHM: "p256",
    }
    n.submit(ALICE, typed)
    n.submit(ALICE, {**typed, ids.DOMAINS: "example.com\nwww.example.com\nshop.example.com"})
    n.show_view(ALICE)
    print("\nAlice presses [Submit for review].")
    n.submit(ALICE, {})
    n.show_dms(ALICE)

    n.title("Alice registers an OV (Professional) certificate and types UK for the country")
    n.command(ALICE, "new")
    n.submit(
        ALICE,
        {ids.PRODUCT: "ov", ids.DOMAIN_TYPE: "single", ids.DOMAIN_COUNT: "1", ids.VALIDITY: "200"},
    )
    n.show_dms(ALICE)
    ov = latest_ref(n, ALICE)
    n.command(ALICE, f"complete {ov}")
    org = {
        ids.DOMAINS: "portal.example.com",
        ids.APPLICANT_NAME: "Alice Example",
        ids.APPLICANT_EMAIL: "admin@example.com",
        ids.APPLICANT_PHONE: "+44 20 7946 0958",
        ids.ORG_LEGAL_NAME: "Example Widgets Ltd",
        ids.ORG_COUNTRY: "UK",
        ids.ORG_STATE: "Greater London",
        ids.ORG_CITY: "London",
        ids.ORG_STREET: "1 Example Street",
        ids.ORG_POSTAL_CODE: "EC1A 1AA",
        ids.ORG_PHONE: "+44 20 7946 0000",
        ids.CSR_METHOD: "system",
        ids.KEY_ALGORITHM: "rsa2048",
    }
    n.submit(ALICE, org)
    n.submit(ALICE, {**org, ids.ORG_COUNTRY: "GB"})
    n.show_view(ALICE)
    n.submit(ALICE, {})
    n.show_dms(ALICE)

    n.title("Alice lists her orders; Bob sees none of them")
    n.command(ALICE, "list")
    n.command(BOB, "list")
    n.command(BOB, f"status {dv}")


def latest_ref(n: Narrator, user: str) -> str:
    """The order ID in the user's newest registration DM."""
    import re

    for message in reversed(n.emulator.dms_to(user)):
        match = re.search(r"CD-\d{4}", message.text)
        if match and "registered" in message.text:
            return match.group(0)
    raise RuntimeError("no registration DM found")
