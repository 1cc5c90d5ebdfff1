"""`/cert list` on a SQLite file: never held back by a writer, never past Slack's deadline.

Read with Slack's own 3 s limit as the client's socket timeout: a later answer fails the test.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from support.app_fixtures import ALICE, BOB, Running, wait_for
from support.journeys import register

from bot.orders import approval, lookup

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
        answer = certdesk.slack.slash_command(ALICE, "list")
    # The writer holds its transaction until after the answer: a reader that waited for it
    # would have answered with a sentence, not the list.
    assert ref in (answer.json() or {})["text"]


@dataclass
class Stall:
    """`/cert list` reads held until ``released`` is set; who asked, in turn."""

    released: threading.Event = field(default_factory=threading.Event)
    asked: list[str] = field(default_factory=list)


@pytest.fixture
def stall(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stall]:
    """A disk that stops answering, for list reads: they wait (at most 10 s) until released."""
    held = Stall()
    read = lookup.list_page

    def stalled(*args: Any, **kwargs: Any) -> Any:
        held.asked.append(kwargs["user_id"])
        held.released.wait(10)
        return read(*args, **kwargs)

    monkeypatch.setattr(lookup, "list_page", stalled)
    yield held
    held.released.set()


def test_a_read_stalled_below_the_busy_timeout_is_answered_in_words_in_time(
    certdesk: Running, stall: Stall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that stops answering holds a read with no lock to time out: the request's
    thread still answers on time, while the stalled read waits on the reads thread."""
    ref = register(certdesk, ALICE)
    certdesk.slack.timeout = 3
    try:
        answer = certdesk.slack.slash_command(ALICE, "list")
    finally:
        stall.released.set()
    assert answer.status == 200 and AWAY in (answer.json() or {})["text"]
    monkeypatch.undo()
    assert ref in (certdesk.slack.slash_command(ALICE, "list").json() or {})["text"]


def test_reads_queued_behind_a_stalled_read_are_answered_in_words_and_never_run_late(
    certdesk: Running, stall: Stall
) -> None:
    """SQLite reads run on one thread (replies.SQLITE_READS): those queued behind a stalled
    read are answered in words in time like it, and are dropped rather than run once the
    stall ends (nobody waits for their answer any more)."""
    ref = register(certdesk, ALICE)
    certdesk.slack.timeout = 3
    with ThreadPoolExecutor(max_workers=1) as person:
        try:
            first = person.submit(certdesk.slack.slash_command, ALICE, "list")
            wait_for(lambda: stall.asked, timeout=2, what="the first read to begin")
            queued = certdesk.slack.slash_command(BOB, "list")
            answers = [first.result(), queued]
        finally:
            stall.released.set()
    for answer in answers:
        assert answer.status == 200 and AWAY in (answer.json() or {})["text"]
    # The one thread takes work in turn: Bob's read would have run before this one.
    assert ref in (certdesk.slack.slash_command(ALICE, "list").json() or {})["text"]
    assert stall.asked == [ALICE, ALICE]


def reading_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads `list`, `status` and `approvals` read on, as they read."""
    threads: list[str] = []
    for module, name in ((lookup, "list_page"), (lookup, "order_for"), (approval, "waiting_for")):
        read = getattr(module, name)

        def noted(*args: Any, read: Any = read, **kwargs: Any) -> Any:
            threads.append(threading.current_thread().name)
            return read(*args, **kwargs)

        monkeypatch.setattr(module, name, noted)
    return threads


def test_reading_words_read_on_the_reads_thread_only_on_a_sqlite_file(
    start_certdesk: Callable[..., Running], monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """A server's reads can stop mid-statement and must not queue behind one another: on
    PostgreSQL they stay on the request pool."""
    desk = start_certdesk(DATABASE_URL=database_url)
    ref = register(desk, ALICE)
    threads = reading_threads(monkeypatch)
    answers = (("list", ref), (f"status {ref}", ref), ("approvals", "Nothing waits for your"))
    for text, expected in answers:
        answer = desk.slack.slash_command(ALICE, text)
        assert answer.status == 200 and expected in (answer.json() or {})["text"], text
    prefix = "certdesk-reads" if database_url.startswith("sqlite") else "certdesk-prompt"
    assert len(threads) == 3 and all(t.startswith(prefix) for t in threads), threads
