"""Which process runs the scheduler: a PostgreSQL advisory lock held by a heartbeating session.

The lock is transaction-scoped and taken on a connection of its own, whose transaction stays
open while the process leads. That session sets ``idle_in_transaction_session_timeout`` to the
lease's TTL and the holder runs a statement every third of it, so:

- a process that exits or is killed (``kill -9``) closes its connection and PostgreSQL frees
  the lock at once;
- a process that is alive but frozen (SIGSTOP, a paused VM, a stuck interpreter) stops
  heartbeating, and PostgreSQL ends its session after the TTL, which frees the lock;
- a machine that vanishes from the network is noticed by TCP keepalives set on both sides.

Every other process tries to take the lock at each heartbeat, so the lock changes hands within
the TTL plus one heartbeat. A holder counts itself as leading only while its last heartbeat
is recent (half the TTL), so a frozen holder that wakes up starts no job after it has lost the
lock; a job already running when it froze ends under the sweeps' own row claims, which make a
second runner harmless.

SQLite has no advisory locks and is one machine's file: there every process leads, and the row
claims alone keep concurrent sweeps safe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

#: The advisory lock's key: "certdesk" as a 63-bit number, fixed so every version agrees.
SCHEDULER_LOCK = int.from_bytes(b"certdesk", "big") & 0x7FFF_FFFF_FFFF_FFFF


class Leadership:
    """Hold the scheduler lock when it is free; call ``on_gain``/``on_lose`` as it comes and goes.

    Two threads: one takes the lock and heartbeats (never blocked by the scheduler, so a slow
    start or stop cannot cost the lock), the other follows it, starting and stopping the
    scheduler. On a clean stop ``on_lose`` returns before the lock is let go, so the scheduler
    has stopped before another process starts one.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        ttl: timedelta,
        on_gain: Callable[[], None],
        on_lose: Callable[[], None],
        key: int = SCHEDULER_LOCK,
    ) -> None:
        self._ttl = max(ttl.total_seconds(), 1.0)
        self._beat = self._ttl / 3
        self._key = key
        self._on_gain, self._on_lose = on_gain, on_lose
        self._postgres = engine.dialect.name == "postgresql"
        self._engine = engine
        self._closing = threading.Event()  # no new lock, stop the scheduler
        self._stop = threading.Event()  # then let the lock go
        self._held = False
        self._last_beat = 0.0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start trying for the lock, and following it, on threads of their own."""
        for target, name in ((self._hold, "certdesk-lock"), (self._follow, "certdesk-leader")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def leading(self) -> bool:
        """Whether this process holds the lock, as far as a recent heartbeat shows."""
        if not self._held:
            return False
        return not self._postgres or time.monotonic() - self._last_beat < self._ttl * 2 / 3

    def stop(self, timeout: float | None = None) -> bool:
        """Stop leading (``on_lose`` first), let the lock go, and end the threads (each
        waited for at most ``timeout`` seconds); whether both ended."""
        self._closing.set()
        holder, follower = self._threads or (None, None)
        if follower is not None:
            follower.join(timeout)
        self._stop.set()
        if holder is not None:
            holder.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)

    def _follow(self) -> None:
        """Run the scheduler exactly while the lock is held."""
        running = False
        while True:
            closing = self._closing.is_set()
            # leading(), not _held: a holder whose heartbeat went stale (it was frozen, or its
            # heartbeat hangs on a dead connection) stands down at once, as the job gate does.
            held = self.leading() and not closing
            if held and not running:
                logger.info("scheduler lock taken: this process runs the scheduled jobs")
                running = _safely(self._on_gain, "starting the scheduler")
                if not running:  # try again a heartbeat later
                    self._closing.wait(self._beat)
            elif running and not held:
                logger.info("scheduler lock let go: this process stops running scheduled jobs")
                _safely(self._on_lose, "stopping the scheduler")
                running = False
            if closing and not running:
                return
            self._closing.wait(0.1)

    def _hold(self) -> None:
        if not self._postgres:
            self._held = True
            self._stop.wait()
            self._held = False
            return
        lock_engine = _lock_engine(self._engine, ttl=self._ttl)
        connection: Connection | None = None
        try:
            while not self._stop.is_set():
                connection = self._tick(lock_engine, connection)
                self._stop.wait(self._beat)
        finally:
            self._held = False
            if connection is not None:
                _close(connection)  # ends the transaction: the lock is free for the next one
            lock_engine.dispose()

    def _tick(self, engine: Engine, connection: Connection | None) -> Connection | None:
        """One heartbeat (holding) or one try for the lock (standing by); the connection to keep."""
        try:
            if connection is None:
                connection = _connect(engine, ttl=self._ttl)
            if self._held:
                connection.execute(text("SELECT 1"))
                self._last_beat = time.monotonic()
                return connection
            if self._closing.is_set():
                return connection
            got = connection.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self._key}
            ).scalar()
            if got:
                self._last_beat = time.monotonic()
                self._held = True
            else:
                connection.rollback()  # a standby holds no transaction open between tries
            return connection
        except Exception as exc:
            # The session is gone (PostgreSQL ended it after a freeze, or the network did):
            # whatever lock it held is free now, so stop leading before anything else runs.
            if not isinstance(exc, DBAPIError):
                logger.exception("scheduler lock: unexpected error; trying again")
            elif self._held:
                logger.warning("scheduler lock lost with its connection (%s)", type(exc.orig))
            self._held = False
            if connection is not None:
                _close(connection)
            return None


def _safely(callback: Callable[[], None], doing: str) -> bool:
    """Run ``callback``; whether it returned without an exception (which is logged)."""
    try:
        callback()
    except Exception:
        logger.exception("%s failed", doing)
        return False
    return True


def _lock_engine(engine: Engine, *, ttl: float) -> Engine:
    """A one-connection engine on the same database, with TCP keepalives on the client side."""
    idle = max(int(ttl), 1)
    return create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={
            # A database that does not answer is tried again a heartbeat later, and one that
            # stops answering mid-heartbeat (keepalives wait while data is unacknowledged)
            # drops the connection after the TTL.
            "connect_timeout": idle,
            "tcp_user_timeout": int(ttl * 1000),
            "keepalives": 1,
            "keepalives_idle": idle,
            "keepalives_interval": max(idle // 3, 1),
            "keepalives_count": 3,
            "application_name": "certdesk-scheduler-lock",
        },
    )


def _connect(engine: Engine, *, ttl: float) -> Connection:
    connection = engine.connect()
    idle = max(int(ttl), 1)
    # PostgreSQL ends this session (freeing the lock) when it sits in its transaction longer
    # than the TTL, and probes a silent client with keepalives of the same order.
    connection.execute(text(f"SET idle_in_transaction_session_timeout = {int(ttl * 1000)}"))
    connection.execute(text(f"SET tcp_keepalives_idle = {idle}"))
    connection.execute(text(f"SET tcp_keepalives_interval = {max(idle // 3, 1)}"))
    connection.execute(text("SET tcp_keepalives_count = 3"))
    connection.commit()
    return connection


def _close(connection: Connection) -> None:
    try:
        connection.rollback()
        connection.close()
    except DBAPIError:
        connection.invalidate()
