"""`/cert list` on a SQLite file: never held back by a writer, never past Slack's deadline.

Read with Slack's own 3 s limit as the client's socket timeout: a later answer fails the test.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from support.app_fixtures import ALICE, BOB, Running
from support.journeys import register

from bot.orders import lookup
from handlers import replies

AWAY = "database is not answering"


@contextmanager
def writing(path: str) -> Iterator[None]:
    """Another connection (another process would do the same) mid-write on the file."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE orders SET purchase_ref = purchase_ref")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_writer_holding_its_transaction_does_not_hold_back_a_list(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    certdesk.slack.timeout = 3
    with writing(str(certdesk.services.engine.url.database)):
        begun = time.monotonic()
        answer = certdesk.slack.slash_command(ALICE, "list")
        took = time.monotonic() - begun
    assert ref in (answer.json() or {})["text"]
    assert took < 1.5, f"a WAL reader waited {took:.1f} s for a writer"


def test_a_read_stalled_below_the_busy_timeout_is_answered_in_words_in_time(
    certdesk: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that stops answering holds a read with no lock to time out: the request's
    thread still answers on time, while the stalled read waits on the reads thread."""
    ref = register(certdesk, ALICE)
    released = threading.Event()
    read = lookup.list_page

    def stalled(*args: Any, **kwargs: Any) -> Any:
        released.wait(10)
        return read(*args, **kwargs)

    monkeypatch.setattr(lookup, "list_page", stalled)
    certdesk.slack.timeout = 3
    try:
        answer = certdesk.slack.slash_command(ALICE, "list")
    finally:
        released.set()
    assert answer.status == 200 and AWAY in (answer.json() or {})["text"]
    monkeypatch.undo()
    assert ref in (certdesk.slack.slash_command(ALICE, "list").json() or {})["text"]


def test_reads_queued_behind_a_stalled_read_are_answered_in_words_and_never_run_late(
    certdesk: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reads run on one thread (replies.SQLITE_READS): those queued behind a stalled
    read are answered in words in time like it, and are dropped rather than run once the
    stall ends (nobody waits for their answer any more)."""
    assert replies.SQLITE_READS._max_workers == 1
    ref = register(certdesk, ALICE)
    released = threading.Event()
    asked: list[str] = []
    read = lookup.list_page

    def stalled(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["user_id"])
        released.wait(10)
        return read(*args, **kwargs)

    monkeypatch.setattr(lookup, "list_page", stalled)
    certdesk.slack.timeout = 3
    with ThreadPoolExecutor(max_workers=1) as person:
        try:
            first = person.submit(certdesk.slack.slash_command, ALICE, "list")
            deadline = time.monotonic() + 2
            while not asked and time.monotonic() < deadline:
                time.sleep(0.01)
            assert asked == [ALICE], "the first read never began"
            queued = certdesk.slack.slash_command(BOB, "list")
            answers = [first.result(), queued]
        finally:
            released.set()
    for answer in answers:
        assert answer.status == 200 and AWAY in (answer.json() or {})["text"]
    # The one thread takes work in turn: Bob's read would have run before this one.
    assert ref in (certdesk.slack.slash_command(ALICE, "list").json() or {})["text"]
    assert asked == [ALICE, ALICE]
