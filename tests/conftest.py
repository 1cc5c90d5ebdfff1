"""Shared fixtures: databases (SQLite file and a throwaway PostgreSQL), Slack emulator, app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from support.postgres import empty_database, postgres_cluster

from storage import db

pytest_plugins = ["support.app_fixtures"]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole test session."""
    with postgres_cluster() as url:
        yield url


@pytest.fixture
def fresh_postgres(postgres_url: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    return empty_database(postgres_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind: a SQLite file and a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'certdesk.sqlite3'}"
    return str(request.getfixturevalue("fresh_postgres"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on each kind of database."""
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print what tests recorded as their ``summary`` (the kill test's counts), also under
    pytest-xdist, where a test's own output is not shown."""
    for report in terminalreporter.getreports("passed") + terminalreporter.getreports("failed"):
        for name, value in getattr(report, "user_properties", []):
            if name == "summary":
                terminalreporter.write_line(f"{report.nodeid}: {value}")
