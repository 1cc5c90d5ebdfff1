"""Migrating the embedded SQLite store apart from the processes that serve it.

Alembic (with Mako and Pygments) stays ~10 MB resident in a process that imported it. A child
process migrates and exits; the serving process, finding the schema current, never loads it
(``storage.db.upgrade`` returns at once on a current schema without importing Alembic).
"""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings
from bot.errors import ConfigError


def upgrade_in_child() -> None:
    """`certdesk db upgrade` in a child process (ConfigError with its reason if it fails)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise ConfigError(done.stderr.strip().removeprefix("certdesk: ") or "db upgrade failed")


def migrate_apart(settings: Settings) -> None:
    """On the SQLite store, migrate in a child first if the schema is behind.

    PostgreSQL is left alone: the operator runs `certdesk db upgrade`, start-up only checks.
    """
    if not settings.database_url.startswith("sqlite"):
        return
    from storage import db

    try:
        engine = db.make_engine(settings.database_url)
        try:
            current = db.current_revision(engine)
        finally:
            engine.dispose()
    except (OSError, SQLAlchemyError):
        return  # e.g. a data directory that cannot be made: start-up says so in words
    if current != db.head_revision():
        upgrade_in_child()
