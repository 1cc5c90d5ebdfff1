"""The empty databases the benches fill: a SQLite file, or a throwaway PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def empty_store(kind: str, tmp: Path) -> Iterator[str]:
    """The URL of an empty database of ``kind`` ("sqlite" under ``tmp``, or "postgresql")."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'certdesk.sqlite3'}"
        return
    from tests.support.postgres import empty_database, postgres_cluster

    with postgres_cluster() as url:
        yield empty_database(url)
