"""The engine's timeouts: from Settings, on SQLite and PostgreSQL, and the pool checkout."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from bot.app import db_timeouts
from bot.config import Settings
from bot.errors import ConfigError
from storage import db


def test_settings_choose_request_and_job_timeouts() -> None:
    settings = Settings.load({"CERTDESK_DB_TIMEOUT": "3s", "CERTDESK_DB_JOB_TIMEOUT": "2m"})
    assert settings.db_timeout == timedelta(seconds=3)
    request, jobs = db_timeouts(settings), db_timeouts(settings, jobs=True)
    assert (request.connect, request.statement, request.checkout) == (3, 3, 3)
    assert jobs.statement == 120 and jobs.ping <= 2
    assert Settings.load({}).db_timeout == timedelta(seconds=2)
    with pytest.raises(ConfigError, match="CERTDESK_DB_TIMEOUT"):
        Settings.load({"CERTDESK_DB_TIMEOUT": "0s"})


def test_sqlite_waits_its_statement_timeout_for_a_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.sqlite3'}"
    engine = db.make_engine(url, timeouts=db.Timeouts(connect=2, statement=1.5, checkout=1))
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 1500
    engine.dispose()


def test_postgresql_gets_the_statement_timeout(fresh_postgres: str) -> None:
    engine = db.make_engine(fresh_postgres, timeouts=db.REQUEST)
    with engine.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "2s"
    engine.dispose()
    admin = db.make_engine(fresh_postgres)  # migrations and operator commands: no limit
    with admin.connect() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar() == "0"
    admin.dispose()


def test_a_full_pool_gives_up_after_the_checkout_timeout(tmp_path: Path) -> None:
    engine = db.make_engine(
        f"sqlite:///{tmp_path / 'p.sqlite3'}",
        timeouts=db.Timeouts(connect=2, statement=1, checkout=0.2),
        pool_size=1,
        max_overflow=0,
    )
    with engine.connect(), pytest.raises(exc.TimeoutError), engine.connect():
        pass  # the second connection waits for the first, then gives up
    engine.dispose()
