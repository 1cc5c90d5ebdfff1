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

    ``on_gain`` and ``on_lose`` run on the leadership thread; ``on_lose`` runs before the lock is
    let go on a clean stop, so the scheduler has stopped before another process starts one.
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
        self._stop = threading.Event()
        self._held = False
        self._last_beat = 0.0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start trying for the lock on a thread of its own."""
        self._thread = threading.Thread(target=self._run, name="certdesk-leader", daemon=True)
        self._thread.start()

    def leading(self) -> bool:
        """Whether this process holds the lock, as far as a recent heartbeat shows."""
        if not self._held:
            return False
        return not self._postgres or time.monotonic() - self._last_beat < self._ttl / 2

    def stop(self, timeout: float | None = None) -> None:
        """Stop leading (``on_lose`` first), let the lock go, and end the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        if not self._postgres:
            self._gain()
            self._stop.wait()
            self._lose()
            return
        lock_engine = _lock_engine(self._engine, ttl=self._ttl)
        connection: Connection | None = None
        try:
            while not self._stop.is_set():
                connection = self._tick(lock_engine, connection)
                self._stop.wait(self._beat)
        finally:
            self._lose()
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
            got = connection.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": self._key}
            ).scalar()
            if got:
                self._last_beat = time.monotonic()
                self._gain()
            else:
                connection.rollback()  # a standby holds no transaction open between tries
            return connection
        except DBAPIError as exc:
            # The session is gone (PostgreSQL ended it after a freeze, or the network did):
            # whatever lock it held is free now, so stop leading before anything else runs.
            logger.warning("scheduler lock: connection lost (%s)", type(exc.orig).__name__)
            self._lose()
            if connection is not None:
                _close(connection)
            return None

    def _gain(self) -> None:
        self._held = True
        logger.info("scheduler lock taken: this process runs the scheduled jobs")
        try:
            self._on_gain()
        except Exception:
            logger.exception("starting the scheduler failed")

    def _lose(self) -> None:
        if not self._held:
            return
        self._held = False
        logger.info("scheduler lock let go: this process stops running scheduled jobs")
        try:
            self._on_lose()
        except Exception:
            logger.exception("stopping the scheduler failed")


def _lock_engine(engine: Engine, *, ttl: float) -> Engine:
    """A one-connection engine on the same database, with TCP keepalives on the client side."""
    idle = max(int(ttl), 1)
    return create_engine(
        engine.url,
        poolclass=NullPool,
        connect_args={
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
