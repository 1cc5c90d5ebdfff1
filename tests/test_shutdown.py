"""SIGTERM, as an orchestrator sends it: `certdesk serve` stops listening, answers what it
received and finishes its background work; `certdesk worker` stops within its grace and hands
back what it held. Real processes from the `certdesk` console script."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from support.app_fixtures import ALICE, BOB, SECRET, certdesk_env, wait_for
from support.reminder_worker import bare_slots, reminder_ids_posted, waiting_order
from support.replicas import MASTER_KEY, Proc, certdesk, environment, healthy, register_and_submit

from bot.app import build_services
from bot.config import Settings
from bot.devtools.ports import free_port
from bot.emulator import Emulator, Response, SlackSide
from bot.orders.reminding import send_due
from storage import queries
from storage.models import DeliveredFile, PrivateKey, Reminder

PEOPLE = [f"UT{i:03d}" for i in range(12)]


def test_serve_finishes_requests_and_background_work_on_sigterm(
    emulator: Emulator, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = certdesk_env(
        emulator,
        tmp_path / "data",
        CERTDESK_MASTER_KEY=MASTER_KEY,
        CERTDESK_PUBLIC_URL=url,
        CERTDESK_SHUTDOWN_GRACE="20s",
    )
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler"]
    serve = Proc("serve", args, env, tmp_path).start()
    try:
        wait_for(lambda: healthy(url), timeout=60, what="certdesk serve")
        slack = SlackSide(emulator, request_url=f"{url}/slack/events", signing_secret=SECRET)
        # The submission's work after the ack makes an RSA-4096 key, sends the order to the CA,
        # DMs the requester and uploads the CSR; the upload is answered late, so SIGTERM
        # certainly lands while that work is under way.
        emulator.slow_next("files.completeUploadExternal", seconds=6)
        ref = register_and_submit(slack, emulator, ALICE, "shutdown.example.com", key="rsa4096")
        # And a request in flight: /cert new opens its modal before answering, slowly.
        emulator.slow_next("views.open", seconds=1.5)
        opened = len(emulator.calls_to("views.open"))
        answers: list[Response] = []
        asking = threading.Thread(target=lambda: answers.append(slack.slash_command(BOB, "new")))
        asking.start()
        wait_for(lambda: len(emulator.calls_to("views.open")) > opened, what="views.open")
        assert serve.process is not None
        serve.process.terminate()
        signalled = time.monotonic()
        # New connections are refused at once, while the process is still finishing its work.
        wait_for(lambda: not healthy(url), timeout=5, what="the listener to close")
        assert serve.alive(), "still finishing the work under way"
        assert serve.process.wait(timeout=40) == 0, serve.output()
        took = time.monotonic() - signalled
        asking.join(timeout=10)
    finally:
        if serve.alive():
            serve.kill()
    print(f"\nserve stopped {took:.1f} s after SIGTERM")
    assert [a.status for a in answers] == [200], "the request in flight was answered"
    assert "Traceback" not in serve.output(), serve.output()
    services = build_services(Settings.load(env), migrate=False)
    with services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None and order.ca_ref, "the order reached the CA"
        key = session.get(PrivateKey, order.id)
        assert key is not None and key.ciphertext, "the key being made was sealed and kept"
        csr = session.scalars(select(DeliveredFile).where(DeliveredFile.order_id == order.id))
        assert [f.kind for f in csr] == ["csr"], "the slow upload finished and was recorded"
    services.engine.dispose()


def test_worker_hands_back_its_claims_and_the_lock_within_its_grace(
    emulator: Emulator, tmp_path: Path, fresh_postgres: str
) -> None:
    for person in PEOPLE:
        emulator.add_user(person, name=person.lower(), tz="UTC")
    env = certdesk_env(
        emulator,
        tmp_path / "data",
        DATABASE_URL=fresh_postgres,
        CERTDESK_MASTER_KEY=MASTER_KEY,
        CERTDESK_TICK="1s",
        CERTDESK_LEADER_TTL="3s",
        CERTDESK_SHUTDOWN_GRACE="1s",
    )
    assert certdesk("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    services = build_services(Settings.load(env), migrate=False)
    now = datetime.now(UTC)
    order_id = waiting_order(services, requester=ALICE, started=now, with_slots=False)
    ids = bare_slots(services, order_id, PEOPLE, due=now)
    # Slack answers each reminder half a second late: one sweep takes ~6 s, far past the grace.
    emulator.slow_next("chat.postMessage", seconds=0.5, times=len(ids))
    worker = Proc("worker", ["worker"], env, tmp_path).start()
    try:
        wait_for(
            lambda: len(reminder_ids_posted(emulator.messages())) >= 2,
            timeout=60,
            what="the worker's first reminders",
        )
        assert worker.process is not None
        worker.process.terminate()
        signalled = time.monotonic()
        assert worker.process.wait(timeout=30) == 0, worker.output()
        took = time.monotonic() - signalled
    finally:
        if worker.alive():
            worker.kill()
    print(f"\nworker stopped {took:.1f} s after SIGTERM, mid-sweep")
    assert "handed back" in worker.output(), worker.output()
    with services.sessions.begin() as session:
        held = session.scalars(
            select(Reminder.id).where(
                Reminder.id.in_(ids),
                Reminder.sent_at.is_(None),
                Reminder.claimed_until.is_not(None),
            )
        ).all()
        locks = session.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
        ).scalar()
    assert held == [], "no reminder is left claimed by the stopped worker"
    assert locks == 0, "the scheduler lock was let go"
    # Whoever sweeps next sends the rest at once, and nothing twice (the one that was in
    # flight at SIGTERM is found in Slack, not posted again).
    send_due(services, worker_id="next", now=datetime.now(UTC))
    posted = reminder_ids_posted(emulator.messages())
    assert sorted(posted) == sorted(ids), "each reminder exactly once"
    services.engine.dispose()


#: A worker whose SIGTERM the kernel hands to one of its other threads (any thread may take a
#: signal sent to the process; which one is the kernel's choice), once it waits to be stopped.
SIGTERM_ON_ANOTHER_THREAD = """
import logging, signal, sys, threading
from bot.config import Settings
from bot.scheduler import run_worker

running = threading.Event()

class Running(logging.Handler):
    def emit(self, record):
        if record.getMessage() == "certdesk worker: running":
            running.set()

def signal_from_this_thread():
    running.wait()
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

logging.basicConfig(level="INFO")
logging.getLogger().addHandler(Running())
threading.Thread(target=signal_from_this_thread, daemon=True).start()
sys.exit(0 if run_worker(Settings.load()) else 3)
"""


def test_worker_stops_when_sigterm_lands_on_another_thread(
    emulator: Emulator, tmp_path: Path
) -> None:
    env = certdesk_env(emulator, tmp_path / "data", CERTDESK_SHUTDOWN_GRACE="1s")
    worker = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_ON_ANOTHER_THREAD],
        env=environment(env),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, logged = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        _, logged = worker.communicate(timeout=10)
        raise AssertionError(f"the worker ignored its SIGTERM:\n{logged}") from None
    assert worker.returncode == 0, logged
    assert "worker: SIGTERM received" in logged and "worker: stopped" in logged
