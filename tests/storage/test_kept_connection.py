"""The SQLite reads thread's kept connection: the same one each read, and never a stale one."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from handlers.one_thread import OneThread
from storage import db, kept_connection

T = TypeVar("T")


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file (WAL, as certdesk opens it) with one table to read."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'certdesk.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    yield engine
    engine.dispose()


@pytest.fixture
def keeping() -> Iterator[Callable[[Callable[[], T]], T]]:
    """Run work on a thread that keeps its connection: one made as the SQLite reads thread is
    (handlers.replies.SQLITE_READS)."""
    thread = OneThread("test-kept-connection", initializer=kept_connection.keep_on_this_thread)

    def run(work: Callable[[], T]) -> T:
        value: T = thread.submit(work).result(timeout=10)
        return value

    yield run
    thread.submit(kept_connection.drop).result(timeout=10)
    thread.shutdown(timeout=10)


def read(engine: Engine) -> tuple[Any, list[str]]:
    """The DBAPI connection a read ran on, and what it read."""
    with kept_connection.reading(engine) as connection:
        bodies = [row[0] for row in connection.execute(text("SELECT body FROM notes"))]
        return connection.connection.driver_connection, bodies


def write(engine: Engine, body: str) -> None:
    """A commit from another connection (as a request or another process would make it)."""
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO notes VALUES (:body)"), {"body": body})


def test_a_keeping_thread_reads_on_one_connection_and_sees_each_commit(
    sqlite_file: Engine, keeping: Callable[..., Any]
) -> None:
    first, before = keeping(lambda: read(sqlite_file))
    write(sqlite_file, "after the first read")
    second, after = keeping(lambda: read(sqlite_file))
    assert second is first
    assert sqlite_file.pool.checkedout() == 1  # type: ignore[attr-defined]  # kept, not given back
    assert (before, after) == ([], ["after the first read"])
    # It holds no transaction between reads: nothing pins the WAL.
    assert not keeping(lambda: first.in_transaction)
    # So a checkpoint by another connection can truncate the whole WAL.
    other = sqlite3.connect(str(sqlite_file.url.database))
    try:
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        other.close()
    assert busy == 0


def test_a_read_that_began_a_transaction_leaves_none_behind(
    sqlite_file: Engine, keeping: Callable[..., Any]
) -> None:
    def begun() -> Any:
        with kept_connection.reading(sqlite_file) as connection:
            connection.exec_driver_sql("BEGIN")
            connection.execute(text("SELECT body FROM notes")).all()
            return connection.connection.driver_connection

    kept = keeping(begun)
    write(sqlite_file, "after a read that began")  # an open read would not see it
    assert not keeping(lambda: kept.in_transaction)
    assert keeping(lambda: read(sqlite_file)) == (kept, ["after a read that began"])


def test_other_threads_take_a_connection_from_the_pool_and_give_it_back(
    sqlite_file: Engine, keeping: Callable[..., Any]
) -> None:
    kept, _ = keeping(lambda: read(sqlite_file))
    pooled, _ = read(sqlite_file)  # this thread does not keep one
    assert pooled is not kept
    # Only the kept connection is still out of the pool.
    assert sqlite_file.pool.checkedout() == 1  # type: ignore[attr-defined]


def test_a_failed_read_drops_the_connection_and_the_next_read_opens_another(
    sqlite_file: Engine, keeping: Callable[..., Any]
) -> None:
    kept, _ = keeping(lambda: read(sqlite_file))

    def failing() -> None:
        with kept_connection.reading(sqlite_file) as connection:
            connection.execute(text("SELECT body FROM no_such_table"))

    with pytest.raises(OperationalError):
        keeping(failing)
    with pytest.raises(sqlite3.ProgrammingError):
        kept.execute("SELECT 1")  # closed, not handed back to the pool
    fresh, bodies = keeping(lambda: read(sqlite_file))
    assert fresh is not kept and bodies == []


def test_a_read_on_another_engine_closes_the_connection_kept_for_the_first(
    sqlite_file: Engine, keeping: Callable[..., Any], tmp_path: Path
) -> None:
    kept, _ = keeping(lambda: read(sqlite_file))
    other = db.make_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    with other.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    write(other, "the other file")
    try:
        on_other, bodies = keeping(lambda: read(other))
        assert on_other is not kept and bodies == ["the other file"]
        with pytest.raises(sqlite3.ProgrammingError):
            kept.execute("SELECT 1")
    finally:
        keeping(kept_connection.drop)
        other.dispose()


def test_disposing_of_the_engine_closes_its_kept_connection(
    sqlite_file: Engine, keeping: Callable[..., Any]
) -> None:
    kept, _ = keeping(lambda: read(sqlite_file))
    sqlite_file.dispose()
    with pytest.raises(sqlite3.ProgrammingError):
        kept.execute("SELECT 1")
    # Nothing of this process holds the file: another connection can take it whole.
    other = sqlite3.connect(str(sqlite_file.url.database), isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        other.execute("INSERT INTO notes VALUES ('written alone')")
        other.execute("COMMIT")
    finally:
        other.close()
    fresh, bodies = keeping(lambda: read(sqlite_file))  # from the engine's new pool
    assert fresh is not kept and bodies == ["written alone"]


def test_a_connection_in_use_when_its_engine_is_disposed_is_not_kept_after_the_read(
    sqlite_file: Engine, keeping: Callable[..., Any]
) -> None:
    def disposed_while_reading() -> Any:
        with kept_connection.reading(sqlite_file) as connection:
            sqlite_file.dispose()
            connection.execute(text("SELECT body FROM notes")).all()  # still works
            return connection.connection.driver_connection

    kept = keeping(disposed_while_reading)
    fresh, _ = keeping(lambda: read(sqlite_file))
    assert fresh is not kept
    with pytest.raises(sqlite3.ProgrammingError):
        kept.execute("SELECT 1")
