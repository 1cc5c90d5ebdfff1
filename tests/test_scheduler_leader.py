"""Exactly one scheduler on PostgreSQL: the lock goes to one worker, passes to the other when
its holder is killed or frozen, and a frozen holder that wakes up does not lead again."""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from support.app_fixtures import certdesk_env, wait_for
from support.replicas import LEADS, LETS_GO, MASTER_KEY, Proc, certdesk

from bot.emulator import Emulator
from bot.leader import SCHEDULER_LOCK, Leadership

TTL = 3


def holders(engine: Engine) -> int:
    """How many sessions hold the scheduler lock (PostgreSQL's own view)."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": SCHEDULER_LOCK},
            ).scalar()
            or 0
        )


def leader(workers: list[Proc]) -> Proc | None:
    leading = [w for w in workers if w.leads()]
    assert len(leading) <= 1, [w.name for w in leading]
    return leading[0] if leading else None


# Freezing and thawing worker processes times their heartbeats: .ci/run runs this test on its
# own after the suite, so the rest of the suite's load cannot stretch them.
@pytest.mark.alone
def test_one_worker_leads_and_the_lock_passes_on_kill_and_on_freeze(
    emulator: Emulator, fresh_postgres: str, tmp_path: Path
) -> None:
    env = certdesk_env(
        emulator,
        tmp_path / "data",
        DATABASE_URL=fresh_postgres,
        CERTDESK_MASTER_KEY=MASTER_KEY,
        CERTDESK_TICK="1s",
        CERTDESK_LEADER_TTL=f"{TTL}s",
        CERTDESK_SHUTDOWN_GRACE="2s",
    )
    assert certdesk("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    engine = create_engine(fresh_postgres)
    workers = [Proc(f"w{i}", ["worker"], env, tmp_path).start() for i in range(2)]
    try:
        wait_for(lambda: all("worker: running" in w.output() for w in workers), timeout=60)
        first = wait_for(lambda: leader(workers), timeout=30, what="a leader")
        assert holders(engine) == 1
        other = workers[1 - workers.index(first)]

        # Frozen, not dead: its connection stays open, PostgreSQL ends the session after the TTL.
        assert first.process is not None
        first.process.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        wait_for(other.leads, timeout=TTL * 10, what="the standby to take over from a frozen one")
        handover = time.monotonic() - frozen
        assert holders(engine) == 1
        thawed_from, other_from = len(first.output()), len(other.output())
        first.process.send_signal(signal.SIGCONT)
        # Awake again, it finds its heartbeat stale and its session gone, and stops leading.
        wait_for(
            lambda: LETS_GO in first.output()[thawed_from:],
            timeout=TTL * 5,
            what="the woken one to stand down",
        )
        # One of them holds the lock: the other, unless on a loaded machine the other's own
        # heartbeat went stale meanwhile and the lock rightly moved back.
        holder = wait_for(lambda: leader(workers), timeout=TTL * 10, what="a leader after it")
        assert holder is other or LETS_GO in other.output()[other_from:], "moved without cause"
        assert holders(engine) == 1
        standby = workers[1 - workers.index(holder)]

        # Killed: the connection closes and the lock passes within a heartbeat or so.
        standby_from = len(standby.output())
        holder.kill()
        killed = time.monotonic()
        wait_for(standby.leads, timeout=TTL * 10, what="the lock to pass after kill -9")
        after_kill = time.monotonic() - killed
        assert LEADS in standby.output()[standby_from:], "the standby took it after the kill"
        assert holders(engine) == 1

        assert standby.terminate() == 0, standby.output()
        assert holders(engine) == 0, "a stopped worker lets the lock go"
    finally:
        for worker in workers:
            if worker.alive():
                worker.kill()
        engine.dispose()
    print(f"\nlock handed over {handover:.1f} s after a freeze, {after_kill:.1f} s after kill -9")


def test_on_sqlite_every_process_leads(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    events: list[str] = []
    leadership = Leadership(
        engine,
        ttl=timedelta(seconds=3),
        on_gain=lambda: events.append("gain"),
        on_lose=lambda: events.append("lose"),
    )
    leadership.start()
    wait_for(lambda: events == ["gain"], what="the scheduler to start")
    assert leadership.leading()
    assert leadership.stop(timeout=5), "both threads ended"
    assert events == ["gain", "lose"] and not leadership.leading()
