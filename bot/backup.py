"""`certdesk backup FILE`: a consistent copy of the SQLite store while certdesk runs.

SQLite's online backup API copies the database page by page under its own locking, so
serve and worker may keep writing. The copy holds private keys sealed under the master key
and nothing that opens them: the master key is kept (and backed up) apart, and a restore
needs both. PostgreSQL has its own tools; certdesk says which and what to keep beside them.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from bot import keys_rotation, private_files
from bot.config import Settings
from bot.errors import ConfigError
from storage import db
from storage import sealed as sealed_rows


class NotSQLite(ConfigError):
    """The database is not a SQLite file: certdesk cannot back it up itself."""


@dataclass(frozen=True)
class Backup:
    """What a backup wrote."""

    path: Path
    orders: int
    sealed: dict[str, int]  # master key id → values sealed under it (keys, secrets, tokens)


def sqlite_path(database_url: str) -> Path:
    """The file behind a sqlite:/// URL; NotSQLite for any other database."""
    path = db.sqlite_file(database_url)
    if path is None:
        raise NotSQLite(postgres_advice())
    return path


def backup_sqlite(settings: Settings, target: Path) -> Backup:
    """Copy the store to ``target`` (created 0600, replaced atomically); ConfigError if unable."""
    source = sqlite_path(settings.database_url)
    if not source.is_file():
        raise ConfigError(f"DATABASE_URL: there is no database at {source} to back up.")
    target = target.absolute()
    if target.resolve() == source.resolve():
        raise ConfigError(f"{target}: that is the live database; name another file.")
    partial = target.with_name(target.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    try:
        # Made 0600 before SQLite opens it: the copy holds sealed keys and audit trails.
        private_files.make_private_file(partial)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write the backup there ({exc.strerror}).") from None
    try:
        orders, sealed = _copy(source, partial)
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Backup(path=target, orders=orders, sealed=sealed)


def _copy(source: Path, target: Path) -> tuple[int, dict[str, int]]:
    # The backup API only reads the live file; a busy writer makes it wait, not fail.
    live = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # All pages in one step: one consistent read (WAL lets writers go on meanwhile), where
        # a page-at-a-time copy would start over after each write by another process.
        live.backup(copy)
        # One self-contained file: no -wal or -shm beside it when it is opened later.
        copy.execute("PRAGMA journal_mode=DELETE")
        (check,) = copy.execute("PRAGMA integrity_check").fetchone()
        if check != "ok":
            raise ConfigError(f"the copy failed SQLite's integrity check: {check}")
        (orders,) = copy.execute("SELECT count(*) FROM orders").fetchone()
    finally:
        copy.close()
        live.close()
    return int(orders), _sealed_in(target)


def _sealed_in(copy: Path) -> dict[str, int]:
    """What the copy holds sealed, by master key (as start-up counts its own store)."""
    engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
    try:
        with Session(engine) as session:
            return dict(sealed_rows.master_key_use(session))
    finally:
        engine.dispose()


def where_the_keys_are(settings: Settings) -> str:
    """Words naming where this installation's master keys live (never the keys themselves)."""
    if settings.master_key:
        extra = " and CERTDESK_PREVIOUS_MASTER_KEYS" if settings.previous_master_keys else ""
        return f"the CERTDESK_MASTER_KEY environment variable{extra}"
    path = keys_rotation.key_file(settings)
    return f"{path} (and {path.name}.previous or .next beside it, if a rotation left them)"


def postgres_advice() -> str:
    """What to do instead when DATABASE_URL is PostgreSQL."""
    return (
        "DATABASE_URL is not a SQLite file, so `certdesk backup` cannot copy it consistently "
        "itself. Use PostgreSQL's own tools, e.g.\n"
        '  pg_dump --format=custom --file=certdesk.dump "$DATABASE_URL"\n'
        "and restore with\n"
        '  pg_restore --clean --if-exists --no-owner --dbname="$NEW_DATABASE_URL" certdesk.dump\n'
        "The dump holds private keys sealed under the master key, not the key: keep "
        "CERTDESK_MASTER_KEY (and any CERTDESK_PREVIOUS_MASTER_KEYS) in your secret store, "
        "apart from the dump. A restore needs both."
    )


def summary(settings: Settings, done: Backup) -> str:
    """What the operator is told after a backup."""
    try:
        keys = keys_rotation.master_keys(settings, create=False).ids()
    except ConfigError:  # no key configured here: every sealed row is then "missing"
        keys = set()
    sealed = sum(done.sealed.values())
    lines = [
        f"Wrote {done.path} (mode 0600): {done.orders} order(s), {sealed} sealed secret(s) "
        f"(private keys, workspace tokens) under master key(s) "
        f"{', '.join(sorted(done.sealed)) or '(none)'}.",
        f"The backup cannot open those keys on its own: keep the master key from "
        f"{where_the_keys_are(settings)} backed up apart from it. To restore, put this file "
        f"at CERTDESK_DATA_DIR/certdesk.sqlite3 and the master key beside it (or in "
        f"CERTDESK_MASTER_KEY), then start certdesk.",
    ]
    missing = sorted(set(done.sealed) - keys)
    if missing:
        lines.append(
            f"Warning: {', '.join(missing)} is not among the configured master keys; the keys "
            "sealed under it cannot be opened from this backup without it."
        )
    return "\n".join(lines)
