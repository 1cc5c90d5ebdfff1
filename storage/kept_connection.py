"""One connection kept by a thread that only reads a SQLite file.

Taking a connection from SQLAlchemy's pool for each read and handing it back (its reset
included) cost a quarter of a `/cert list` read on a SQLite file (README "Performance").
The thread that runs such reads (``handlers.replies.SQLITE_READS``) opts in with
``keep_on_this_thread``; ``reading`` then hands it the same connection each time.

Each read still sees every commit made before it: the connection is rolled back after
each use, so no transaction (and no snapshot of the file) outlives a read, and in WAL mode
a reader never waits for a writer. A read that fails drops the connection; the next read
opens another. A thread keeps one connection: a read on another engine replaces it.
Disposing of an engine closes the connections kept for it (one in the middle of a read is
closed by its thread at its next read). Any other thread, and an in-memory database, gets
a connection from the pool as usual, given back at the end of the read.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import Pool

from storage import db


@dataclass(eq=False)
class _Kept:
    connection: Connection
    pool: Pool  # the engine's pool it came from: a disposed engine has a new one
    in_use: bool = False


_local = threading.local()
#: Every thread's kept connection, so that disposing of an engine can close those kept for it.
_all: set[_Kept] = set()
_lock = threading.Lock()


def keep_on_this_thread() -> None:
    """Let this thread keep one connection for its SQLite reads (a thread pool's initializer)."""
    _local.keeps = True
    _local.kept = None


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for one read on ``engine``: the thread's kept one where it keeps one."""
    if not _keeps_for(engine):
        with engine.connect() as connection:
            yield connection
        return
    kept = _kept(engine)
    try:
        yield kept.connection
        kept.connection.rollback()  # ends the read's transaction: the next read sees newer commits
    except BaseException:
        drop()
        raise
    finally:
        with _lock:
            kept.in_use = False


def _keeps_for(engine: Engine) -> bool:
    """Whether this thread keeps a connection for its reads on ``engine``."""
    if not getattr(_local, "keeps", False):
        return False
    kept: _Kept | None = _local.kept
    # Only a SQLite file's connection is ever kept: its own engine needs no second look.
    return (kept is not None and kept.pool is engine.pool) or db.sqlite_file(engine.url) is not None


def drop() -> None:
    """Close this thread's kept connection, if any (the next read opens another)."""
    kept, _local.kept = getattr(_local, "kept", None), None
    if kept is None:
        return
    with _lock:
        ours = kept in _all  # else a disposal has closed it already
        _all.discard(kept)
    if ours:
        _close(kept.connection)


def _kept(engine: Engine) -> _Kept:
    kept: _Kept | None = _local.kept
    with _lock:
        if kept is not None and kept.pool is engine.pool and kept in _all:
            kept.in_use = True
            return kept
    drop()  # another engine's, a disposed engine's, or one a disposal closed
    if not event.contains(engine, "engine_disposed", _close_kept_for):
        event.listen(engine, "engine_disposed", _close_kept_for)
    kept = _Kept(engine.connect(), engine.pool, in_use=True)
    with _lock:
        _all.add(kept)
    _local.kept = kept
    return kept


def _close_kept_for(engine: Engine) -> None:
    """On ``engine.dispose()``: close the connections kept for it that no read is using."""
    with _lock:
        idle = [k for k in _all if k.connection.engine is engine and not k.in_use]
        _all.difference_update(idle)
    for kept in idle:
        _close(kept.connection)


def _close(connection: Connection) -> None:
    with contextlib.suppress(Exception):
        connection.invalidate()  # not back to the pool: it may be in any state
        connection.close()
