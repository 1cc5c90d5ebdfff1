"""One scheduler per SQLite store: a lock file beside the database that only one process holds.

PostgreSQL deployments may span machines, so a file cannot guard them; a SQLite store lives
on one machine, where an exclusive ``flock`` is exact and is released when its holder dies.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Settings
from storage import db

#: How often a waiting scheduler looks again whether the lock is free.
RETRY_SECONDS = 0.5


def lock_path(settings: Settings) -> Path | None:
    """The lock file for a SQLite store (beside the database file); None for a server DB."""
    if make_url(settings.database_url).get_backend_name() != "sqlite":
        return None
    database = db.sqlite_file(settings.database_url)
    if database is not None:
        return database.with_name(database.name + ".scheduler.lock")
    return settings.data_dir / "scheduler.lock"


@contextmanager
def sole_scheduler(settings: Settings, stop: threading.Event) -> Iterator[bool]:
    """Wait until this process may run the scheduler; yield False if ``stop`` came first."""
    path = lock_path(settings)
    if path is None:
        yield not stop.is_set()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while not stop.is_set():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                stop.wait(RETRY_SECONDS)  # another process schedules; stand by
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield True
            return
        yield False
    finally:
        os.close(fd)  # closing releases the lock


def holder(settings: Settings) -> int | None:
    """The pid written by the process holding the lock, if one holds it now."""
    path = lock_path(settings)
    if path is None or not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = path.read_text().strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
