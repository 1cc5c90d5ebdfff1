"""A client-side deadline for PostgreSQL statements: cut the socket of one that outlives it.

``statement_timeout`` is enforced by the server, so it does nothing when the server itself
hangs (a frozen postmaster, a stalled host, a dead network path the kernel still ACKs): the
client then waits in recv() forever. One watchdog thread per engine shuts down the socket of
a connection whose statement (or pre-ping) overruns; psycopg raises an OperationalError that
SQLAlchemy treats as a disconnect, and the connection leaves the pool.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time
from typing import Any

from sqlalchemy import Engine, event

logger = logging.getLogger(__name__)
_KEY = "certdesk_deadline"


class Watchdog:
    """Shuts down a socket when its deadline passes, unless disarmed first."""

    def __init__(self, name: str = "db-watchdog") -> None:
        self._lock = threading.Condition()
        self._armed: dict[int, tuple[float, int]] = {}
        self._tickets = itertools.count(1)
        self._name = name
        self._thread: threading.Thread | None = None
        #: When the thread next wakes by itself: arming a later deadline need not wake it.
        self._wakes_at = float("inf")
        self.fired = 0

    def arm(self, fileno: int, seconds: float) -> int:
        """Watch the socket ``fileno`` for ``seconds``; return a ticket for ``disarm``."""
        with self._lock:
            ticket = next(self._tickets)
            deadline = time.monotonic() + seconds
            self._armed[ticket] = (deadline, fileno)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            if deadline < self._wakes_at:  # most statements end long before: no wake-up each
                self._lock.notify()
            return ticket

    def disarm(self, ticket: int | None) -> None:
        """The statement finished: forget its deadline (a second call does nothing)."""
        if ticket is None:
            return
        with self._lock:
            self._armed.pop(ticket, None)

    def _run(self) -> None:
        with self._lock:
            while True:
                if not self._armed:
                    self._wakes_at = float("inf")
                    self._lock.wait()
                    continue
                ticket, (deadline, fileno) = min(self._armed.items(), key=lambda kv: kv[1][0])
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wakes_at = deadline
                    self._lock.wait(wait)
                    continue
                # Still armed under the lock, so the statement is still running and the
                # socket is still the connection's (it cannot be closed mid-statement).
                del self._armed[ticket]
                self.fired += 1
                _shut_down(fileno)


def _shut_down(fileno: int) -> None:
    """Shut the socket down for both directions, so a blocked recv() on it returns at once."""
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(fileno))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
    logger.warning("database did not answer in time; connection closed")


def install(engine: Engine, *, statement: float, ping: float) -> Watchdog:
    """Give every statement on ``engine`` ``statement`` seconds, and its pre-ping ``ping``."""
    dog = Watchdog()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, *_args: Any) -> None:
        conn.info[_KEY] = dog.arm(cursor.connection.fileno(), statement)

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, *_args: Any) -> None:
        dog.disarm(conn.info.pop(_KEY, None))

    @event.listens_for(engine, "handle_error")
    def _error(context: Any) -> None:
        if context.connection is not None:
            dog.disarm(context.connection.info.pop(_KEY, None))

    # The pool's pre-ping runs on the DBAPI connection, outside the events above.
    dialect: Any = engine.dialect
    plain_ping = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        ticket = dog.arm(dbapi_connection.fileno(), ping)
        try:
            return bool(plain_ping(dbapi_connection))
        finally:
            dog.disarm(ticket)

    dialect.do_ping = do_ping
    return dog
