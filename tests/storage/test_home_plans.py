"""The Home's group reads and counts use an index per branch, never a whole table: plans on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Executable, func, select, text
from support.plans import full_scans, indexes_used, plan
from support.postgres import empty_database

from bot.devtools.seed_orders import seed
from storage import approvals, db
from storage.home_pages import (
    HOME_GROUPS,
    HomeScope,
    group_count_statement,
    group_ids_statement,
    next_team_statement,
)

NOW = datetime.now(UTC)
ADMIN = HomeScope(teams=("T0SEED",), user_id="U0ADMIN", all_orders=True)
PERSON = HomeScope(teams=("T0SEED",), user_id="U0SEEDOWN")
#: Whose Home, and the indexes its group pages must read (every one of them).
SCOPES = {
    "admin": (ADMIN, {"ix_orders_team_state"}),
    "person": (PERSON, {"ix_orders_team_requester_state", "ix_watchers_user_order"}),
    "admin, two teams": (
        HomeScope(teams=("T0SEED", "T0SEEDX3"), user_id="U0ADMIN", all_orders=True),
        {"ix_orders_team_state"},
    ),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def connection(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Connection]:
    """16,000 orders over 40 workspaces with domains and watchers: planners choose by size."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('homeplans') / 'certdesk.sqlite3'}"
    else:
        url = empty_database(str(request.getfixturevalue("postgres_url")))
    engine = db.make_engine(url)
    db.upgrade(engine)
    seed(engine, orders=16000, other_teams=39, now=NOW)
    with engine.connect() as opened:
        yield opened
    engine.dispose()


def _check(connection: Connection, stmt: Executable, wanted: set[str], *, or_wider: bool) -> None:
    """No full scan, and each wanted index read (``or_wider``: or one extending it)."""
    lines = plan(connection, stmt)
    shown = "\n".join(lines)
    assert full_scans(lines) == [], shown
    used = indexes_used(lines)
    for name in wanted:
        assert any(u == name or (or_wider and u.startswith(name)) for u in used), shown


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("group", [key for key, _ in HOME_GROUPS])
def test_each_group_of_the_home_reads_its_indexes(
    connection: Connection, scope: str, group: str
) -> None:
    wanted, indexes = SCOPES[scope]
    states = dict(HOME_GROUPS)[group]
    _check(connection, group_ids_statement(wanted, states, limit=31), indexes, or_wider=False)
    # A capped count needs no id order: any index with the same leading columns will do,
    # read for at most `cap` entries per branch.
    counted = group_count_statement(wanted, states, cap=1000)
    _check(connection, counted, indexes, or_wider=True)


def test_the_workspaces_are_found_by_index_seeks(connection: Connection) -> None:
    for after in (None, "T0SEED"):
        lines = plan(connection, next_team_statement(after))
        assert full_scans(lines) == [] and indexes_used(lines), "\n".join(lines)


def test_an_admins_approvals_are_read_without_walking_the_orders(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # No approval is waiting in this store: the planner may rightly read the tiny table.
        connection.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        # As an admin's Home counts them (home_pages.waiting_approvals).
        undecided = approvals.undecided(["T0SEED"]).order_by(None).subquery()
        lines = plan(connection, select(func.count()).select_from(undecided))
        assert full_scans(lines) == [], "\n".join(lines)
    finally:
        connection.rollback()  # ends SET LOCAL: later tests' plans are the planner's own
