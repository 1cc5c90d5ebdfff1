"""On a SQLite file, `/cert list`, `status` and `approvals` read on the request's own thread.

The hand-off to the request pool protects a request from a server that stops answering; a
SQLite file's reads end on their own (WAL readers never wait for writers, other waits end at
the busy timeout), so these words skip it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from support.app_fixtures import ALICE, Running
from support.journeys import register

from handlers import replies
from storage import db


class NoHandOff:
    """Stands in for the request pool: any hand-off fails the test."""

    def submit(self, *_: Any, **__: Any) -> Any:
        raise AssertionError("a read on SQLite was handed off to the request pool")


def sqlite_file(desk: Running) -> str:
    return str(desk.services.engine.url.database)


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


def test_reads_answer_on_the_request_thread(
    certdesk: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = register(certdesk, ALICE)
    monkeypatch.setattr(replies, "_PROMPT", NoHandOff())
    for text, expected in (("list", ref), (f"status {ref}", ref), ("approvals", "")):
        answer = certdesk.slack.slash_command(ALICE, text)
        assert answer.status == 200, text
        assert expected in (answer.json() or {})["text"], text


def test_only_a_sqlite_file_with_a_short_busy_timeout_skips_the_hand_off(
    certdesk: Running,
) -> None:
    services = certdesk.services
    assert replies.reads_in_time(services)
    for longer in (timedelta(seconds=10), timedelta(0)):  # 0: SQLite waits 30 s
        slow = replace(services, settings=replace(services.settings, db_timeout=longer))
        assert not replies.reads_in_time(slow), longer
    server = db.make_engine("postgresql://certdesk@127.0.0.1:9/certdesk")  # never connected
    try:
        assert not replies.reads_in_time(replace(services, engine=server))
    finally:
        server.dispose()


def test_a_writer_holding_its_transaction_does_not_hold_back_a_list(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    certdesk.slack.timeout = 3  # Slack's limit: a later answer is no answer
    with writing(sqlite_file(certdesk)):
        begun = time.monotonic()
        answer = certdesk.slack.slash_command(ALICE, "list")
        took = time.monotonic() - begun
    assert ref in (answer.json() or {})["text"]
    assert took < 1.5, f"a WAL reader waited {took:.1f} s for a writer"
