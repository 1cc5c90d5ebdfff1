"""The empty databases the benches fill: a SQLite file, or a throwaway PostgreSQL cluster."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from bot.devtools.seed_orders import seed
from storage import db


@contextmanager
def empty_store(kind: str, tmp: Path) -> Iterator[str]:
    """The URL of an empty database of ``kind`` ("sqlite" under ``tmp``, or "postgresql")."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'certdesk.sqlite3'}"
        return
    from tests.support.postgres import empty_database, postgres_cluster

    with postgres_cluster() as url:
        yield empty_database(url)


@contextmanager
def seeded_engine(kind: str, size: int, *, now: datetime) -> Iterator[Engine]:
    """An engine on a migrated store of ``kind`` seeded with ``size`` orders (seed_orders)."""
    with tempfile.TemporaryDirectory() as tmp, empty_store(kind, Path(tmp)) as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        seed(engine, orders=size, now=now)
        try:
            yield engine
        finally:
            engine.dispose()
