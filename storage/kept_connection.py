"""One connection kept by a thread that only reads a SQLite file.

Taking a connection from SQLAlchemy's pool for each read and handing it back (its reset
included) cost a quarter of a `/cert list` read on a SQLite file (README "Performance").
The thread that runs such reads (``handlers.replies.SQLITE_READS``) opts in with
``keep_on_this_thread``; ``reading`` then hands it the same connection each time.

Each read still sees every commit made before it: the connection is rolled back after
each use, so no transaction (and no snapshot of the file) outlives a read, and in WAL mode
a reader never waits for a writer. A read that fails drops the connection; the next read
opens another. Any other thread, an in-memory database or another engine gets a connection
from the pool as usual, given back at the end of the read.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from sqlalchemy import Connection, Engine

_local = threading.local()


def keep_on_this_thread() -> None:
    """Let this thread keep one connection for its SQLite reads (a thread pool's initializer)."""
    _local.keeps = True
    _local.connection = None


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for one read on ``engine``: the thread's kept one where it keeps one."""
    if not (getattr(_local, "keeps", False) and _is_sqlite_file(engine)):
        with engine.connect() as connection:
            yield connection
        return
    connection = _kept(engine)
    try:
        yield connection
        connection.rollback()  # ends the read's transaction: the next read sees newer commits
    except BaseException:
        drop()
        raise


def drop() -> None:
    """Close this thread's kept connection, if any (the next read opens another)."""
    connection, _local.connection = getattr(_local, "connection", None), None
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.invalidate()  # not back to the pool: it may be in any state
            connection.close()


def _kept(engine: Engine) -> Connection:
    connection: Connection | None = _local.connection
    if connection is not None and connection.engine is engine and not connection.closed:
        return connection
    drop()  # another engine's (a process may build several, as tests do)
    _local.connection = engine.connect()
    return _local.connection


def _is_sqlite_file(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")
