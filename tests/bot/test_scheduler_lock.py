"""The SQLite scheduler lock: one holder at a time, a waiter stands by, release on exit."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from bot.config import Settings
from bot.scheduler_lock import holder, lock_path, sole_scheduler


def _settings(tmp_path: Path, **extra: str) -> Settings:
    return Settings.load({"CERTDESK_DATA_DIR": str(tmp_path / "data"), **extra})


def test_a_second_scheduler_waits_until_the_first_lets_go(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first_stop, second_stop = threading.Event(), threading.Event()
    got: list[bool] = []
    with sole_scheduler(settings, first_stop) as mine:
        assert mine and holder(settings) == os.getpid()
        second_stop_timer = threading.Timer(0.3, second_stop.set)
        second_stop_timer.start()
        with sole_scheduler(settings, second_stop) as theirs:
            got.append(theirs)
    assert got == [False]  # stopped while the first still held the lock
    assert holder(settings) is None
    with sole_scheduler(settings, threading.Event()) as mine_again:
        assert mine_again


def test_the_lock_sits_beside_the_sqlite_file_and_postgresql_has_none(tmp_path: Path) -> None:
    settings = _settings(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'x' / 'store.db'}")
    assert lock_path(settings) == tmp_path / "x" / "store.db.scheduler.lock"
    pg = _settings(tmp_path, DATABASE_URL="postgresql://certdesk@127.0.0.1:5/certdesk")
    assert lock_path(pg) is None and holder(pg) is None
    with sole_scheduler(pg, threading.Event()) as mine:
        assert mine
