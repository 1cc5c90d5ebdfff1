"""Fixtures that run certdesk for real: the emulator, the app over HTTP, and people using it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import create
from bot.config import Settings
from bot.devtools.ports import reserved_port
from bot.emulator import Emulator, SlackSide
from bot.emulator.slack_side import Response
from bot.serve import HttpServer, start_http
from storage import db

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"
TEAM = "T0001"
ALICE, BOB, CAROL, ADMIN = "UALICE", "UBOB", "UCAROL", "UADMIN"
#: The team channel of the ``journey`` fixture.
NOTIFY = "CNOTIFY"


def wait_for(check: Callable[[], Any], *, timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Running:
    """certdesk served over HTTP, with the emulator and Slack's side of the conversation."""

    http: HttpServer
    emulator: Emulator
    slack: SlackSide

    @property
    def services(self):  # noqa: ANN201 - fixture convenience
        return self.http.certdesk.services

    def settle(self) -> None:
        """Wait for work done after acks (DMs, uploads, CA calls)."""
        self.services.background.drain()

    def click(self, user_id: str, action_id: str, **kwargs: Any) -> Response:
        """Press a button as ``slack.click`` does, then wait for what it does after the ack
        (a button's listener acks at once; the modal it opens comes a moment later)."""
        response = self.slack.click(user_id, action_id, **kwargs)
        self.settle()
        return response


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A local Slack workspace with a few people in different time zones."""
    with Emulator(token=TOKEN, signing_secret=SECRET, team_id=TEAM) as emu:
        emu.add_user(ALICE, name="alice", tz="Europe/London")
        emu.add_user(BOB, name="bob", tz="America/New_York")
        emu.add_user(CAROL, name="carol", tz="Asia/Tokyo")
        emu.add_user(ADMIN, name="admin", tz="UTC")
        yield emu


def certdesk_env(emulator: Emulator, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment certdesk runs with in tests."""
    env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emulator.api_url,
        "CERTDESK_DATA_DIR": str(data_dir),
        "CERTDESK_ADMINS": ADMIN,
        "CERTDESK_WORKING_HOURS": "any",
        # Orders go straight to the CA unless a test asks for approval (tests/handlers/
        # test_approval.py does, with the default policy and with `all`).
        "CERTDESK_APPROVAL": "none",
    }
    env.update(extra)
    return env


@pytest.fixture
def start_certdesk(emulator: Emulator, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start certdesk with extra settings, e.g. ``start_certdesk(DATABASE_URL=...)``."""
    started: list[Running] = []

    def start(**extra: str) -> Running:
        data_dir = tmp_path / f"data{len(started)}"
        # A port chosen up front, so the simulated CA's verification links point at it, and
        # held until just before the server binds it.
        with reserved_port() as port:
            extra.setdefault("CERTDESK_PUBLIC_URL", f"http://127.0.0.1:{port}")
            settings = Settings.load(certdesk_env(emulator, data_dir, **extra))
            if "DATABASE_URL" in extra:  # as the operator would: `certdesk db upgrade` first
                engine = db.make_engine(settings.database_url)
                db.upgrade(engine)
                engine.dispose()
            app = create(settings)
        http = start_http(app, port=port)
        running = Running(
            http=http,
            emulator=emulator,
            slack=SlackSide(
                emulator, request_url=f"{http.url}/slack/events", signing_secret=SECRET
            ),
        )
        started.append(running)
        return running

    yield start
    for running in started:
        running.http.stop()
        running.services.engine.dispose()


@pytest.fixture
def certdesk(start_certdesk: Callable[..., Running]) -> Running:
    """certdesk on a SQLite file with the simulated CA."""
    return start_certdesk()


@pytest.fixture
def journey(start_certdesk: Callable[..., Running]) -> Callable[..., Running]:
    """certdesk with hours compressed into seconds and a team channel."""

    def start(**extra: str) -> Running:
        return start_certdesk(
            CERTDESK_NOTIFY_CHANNEL=NOTIFY,
            CERTDESK_SIM_REVIEW_DELAY="1s",
            CERTDESK_POLL_INTERVAL="1s",
            CERTDESK_TICK="1s",
            CERTDESK_REMINDER_SCHEDULE="1s,2s",
            **extra,
        )

    return start
