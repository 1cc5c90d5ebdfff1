"""Each reminder is sent exactly once: across a worker killed mid-sweep, and two workers on
PostgreSQL. Workers are real processes talking to the emulator over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from support.app_fixtures import ALICE, certdesk_env, wait_for
from support.reminder_worker import bare_slots, reminder_ids_posted, waiting_order

from bot.app import build_services
from bot.config import Settings
from bot.emulator import Emulator
from bot.services import Services
from storage.models import Reminder
from storage.reminder_claims import LEASE

#: Where the worker module (support.reminder_worker) and the project are imported from.
TESTS = Path(__file__).resolve().parents[2]
PEOPLE = [f"UW{i:03d}" for i in range(30)]


@pytest.fixture
def people(emulator: Emulator) -> list[str]:
    for user in PEOPLE:
        emulator.add_user(user, name=user.lower())
    return PEOPLE


def setup(emulator: Emulator, tmp_path: Path, database_url: str) -> tuple[Services, list[int]]:
    """Services on the shared database, and one due slot per person."""
    env = certdesk_env(emulator, tmp_path / "setup", DATABASE_URL=database_url)
    services = build_services(Settings.load(env), migrate=True)  # `certdesk db upgrade`
    now = datetime.now(UTC)
    order_id = waiting_order(services, requester=ALICE, started=now, with_slots=False)
    return services, bare_slots(services, order_id, PEOPLE, due=now)


def start_worker(
    emulator: Emulator,
    tmp_path: Path,
    database_url: str,
    name: str,
    *,
    offset: float = 0,
    gate: Path | None = None,
) -> subprocess.Popen[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CERTDESK_", "SLACK_"))},
        **certdesk_env(emulator, tmp_path / name, DATABASE_URL=database_url),
        "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)]),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "support.reminder_worker",
            name,
            str(offset),
            *([str(gate)] if gate else []),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(worker: subprocess.Popen[str]) -> int:
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    return int(out.strip().rpartition("sent=")[2])


def slot_rows(services: Services) -> list[Reminder]:
    with services.sessions.begin() as session:
        return list(session.scalars(select(Reminder).order_by(Reminder.id)))


def assert_each_sent_once(emulator: Emulator, services: Services, ids: list[int]) -> None:
    posted = Counter(reminder_ids_posted(emulator.messages()))
    assert set(posted) == set(ids), "every reminder was sent"
    assert [i for i, n in posted.items() if n > 1] == [], "no reminder was sent twice"
    ts_of = {
        m.metadata["event_payload"]["reminder_id"]: m.ts for m in emulator.messages() if m.metadata
    }
    for row in (r for r in slot_rows(services) if r.id in ids):  # not the next steps chained
        assert row.sent_at is not None and row.message_ts == ts_of[row.id]


def test_a_worker_killed_mid_sweep_and_restarted_sends_each_reminder_once(
    emulator: Emulator, tmp_path: Path, people: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    services, ids = setup(emulator, tmp_path, url)
    # Slack takes the posts at once but answers them late, the fourth 5 s late: the kill
    # lands in between, however slowly this test gets to it.
    emulator.slow_next("chat.postMessage", seconds=0.4, times=3)
    emulator.slow_next("chat.postMessage", seconds=5, times=1)
    first = start_worker(emulator, tmp_path, url, "first")
    try:
        wait_for(
            lambda: len(reminder_ids_posted(emulator.messages())) >= 4 or first.poll() is not None,
            timeout=60,
            what="the first worker's posts",
        )
        assert first.poll() is None, first.communicate()[1]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    posted = set(reminder_ids_posted(emulator.messages()))
    limbo = [r.id for r in slot_rows(services) if r.claimed_by and r.sent_at is None]
    assert limbo and set(limbo) <= posted, "killed after Slack took a post, before it was recorded"
    # The restarted worker runs once the dead worker's lease has run out.
    assert finish(start_worker(emulator, tmp_path, url, "second", offset=LEASE.total_seconds() + 1))
    assert_each_sent_once(emulator, services, ids)
    services.engine.dispose()


def test_two_workers_on_postgresql_send_each_reminder_once(
    emulator: Emulator, tmp_path: Path, people: list[str], fresh_postgres: str
) -> None:
    services, ids = setup(emulator, tmp_path, fresh_postgres)
    # 0.2 s a post, 6 s in all: each worker gets a share even if the other starts late.
    emulator.slow_next("chat.postMessage", seconds=0.2, times=len(ids))
    gate = tmp_path / "go"
    names = ("one", "two")
    workers = [start_worker(emulator, tmp_path, fresh_postgres, n, gate=gate) for n in names]
    # Both sweep from the same moment, so each gets a share however slowly they started.
    wait_for(
        lambda: all(Path(f"{gate}.{n}").exists() for n in names),
        timeout=60,
        what="both workers to be ready",
    )
    gate.touch()
    counts = [finish(w) for w in workers]
    assert sum(counts) == len(ids) and min(counts) > 0, counts
    assert_each_sent_once(emulator, services, ids)
    services.engine.dispose()
