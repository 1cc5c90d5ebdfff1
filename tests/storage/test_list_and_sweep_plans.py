"""The lists and sweeps read indexes, never a whole table: plans on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Select, or_, select, text
from support.plans import full_scans, indexes_used, plan
from support.postgres import empty_database

from bot import workflow
from bot.devtools.seed_orders import (
    Store,
    seed,
    seed_delivered_files,
    seed_sent_deliveries,
    seed_sent_reminders,
)
from storage import claims, db, deliveries, order_rows
from storage.models import DeliveredFile, Delivery, Order, Reminder
from storage.order_pages import OrderFilter, StateGroup, count_statement, page_ids_statement

NOW = datetime.now(UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Connection, Store]]:
    """16,000 orders over 40 workspaces, with domains, watchers, sent reminders, delivered
    files, sent outbox rows and statistics.

    Built once per engine: the planners choose by size, so a few rows would prove nothing.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'certdesk.sqlite3'}"
    else:
        url = empty_database(str(request.getfixturevalue("postgres_url")))
    engine = db.make_engine(url)
    db.upgrade(engine)
    made = seed(engine, orders=16000, other_teams=39, now=NOW)
    seed_sent_reminders(engine, per_order=2, now=NOW)
    seed_delivered_files(engine, now=NOW)
    seed_sent_deliveries(engine, now=NOW)
    with engine.connect() as connection:
        yield connection, made
    engine.dispose()


MINE = OrderFilter(team_id="T0SEED", user_id="U0SEEDOWN")
ALL = replace(MINE, all_orders=True)
#: Each list, and the indexes its page and its count must read.
LISTS: dict[str, tuple[OrderFilter, set[str]]] = {
    "mine": (MINE, {"ix_orders_team_requester*", "ix_watchers_user_order"}),
    "all": (ALL, {"ix_orders_team_id_id"}),
    "mine waiting": (
        replace(MINE, group=StateGroup.WAITING),
        {"ix_orders_team_requester_state", "ix_watchers_user_order"},
    ),
    "all waiting": (replace(ALL, group=StateGroup.WAITING), {"ix_orders_team_state"}),
    "all failed": (replace(ALL, group=StateGroup.FAILED), {"ix_orders_team_state"}),
    "all expiring": (
        replace(ALL, group=StateGroup.EXPIRING, now=NOW),
        {"ix_orders_team_state_not_after"},
    ),
    "mine domain": (replace(MINE, domain="example5.com"), {"ix_order_domains_reversed_name"}),
    "all domain": (replace(ALL, domain="example5.com"), {"ix_order_domains_reversed_name"}),
    "all domain failed": (
        replace(ALL, domain="example5.com", group=StateGroup.FAILED),
        {"ix_order_domains_reversed_name"},
    ),
}


def _check(connection: Connection, stmt: Select, wanted: set[str]) -> None:
    """No full scan, and each wanted index read (`name*`: that index or one extending it)."""
    lines = plan(connection, stmt)
    shown = "\n".join(lines)
    assert full_scans(lines) == [], shown
    used = indexes_used(lines)
    for name in wanted:
        assert any(u == name or u.startswith(name.rstrip("*")) for u in used), shown


@pytest.mark.parametrize("name", list(LISTS))
def test_list_pages_and_counts_read_their_indexes(
    store: tuple[Connection, Store], name: str
) -> None:
    connection, _ = store
    wanted, indexes = LISTS[name]
    for stmt in (
        page_ids_statement(wanted, limit=11),
        page_ids_statement(wanted, before=2000, limit=11),
        page_ids_statement(wanted, after=1000, limit=11),
    ):
        _check(connection, stmt, indexes)
    if connection.dialect.name == "postgresql":
        # Counting a whole team reads every row anyway; PostgreSQL may rightly prefer the
        # table for that. What matters is that an index can serve it.
        connection.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        # A count may read any index with the right leading columns (it needs no id order).
        counted = plan(connection, count_statement(wanted))
        assert full_scans(counted) == [] and indexes_used(counted), "\n".join(counted)
    finally:
        connection.rollback()  # ends SET LOCAL: later tests' plans are the planner's own


# The sweeps' statements as bot/orders/ writes them today (polling.py, reminding/claims.py,
# renewal.py, key_files.py, redelivery.py), each with the index that serves it.
SWEEPS: dict[str, tuple[Select, str]] = {
    "poll": (
        select(Order)
        .where(Order.state.in_(sorted(workflow.IN_FLIGHT)))
        .where(Order.next_poll_at.is_not(None), Order.next_poll_at <= NOW)
        .order_by(Order.next_poll_at)
        .limit(20),
        "ix_orders_next_poll_at",
    ),
    "reminders": (
        select(Reminder)
        .where(
            Reminder.sent_at.is_(None),
            Reminder.cancelled_at.is_(None),
            Reminder.due_at <= NOW,
            or_(Reminder.claimed_until.is_(None), Reminder.claimed_until < NOW),
        )
        .order_by(Reminder.due_at, Reminder.id)
        .limit(1),
        "ix_reminders_pending_due",
    ),
    "expiry": (
        select(Order.id).where(
            Order.state == workflow.State.ISSUED,
            Order.not_after.is_not(None),
            Order.not_after <= NOW,
        ),
        "ix_orders_state_not_after",
    ),
    "key files": (
        select(DeliveredFile.id, DeliveredFile.slack_file_id)
        .where(
            DeliveredFile.kind == "key",
            DeliveredFile.deleted_at.is_(None),
            DeliveredFile.delete_after <= NOW,
        )
        .order_by(DeliveredFile.delete_after),
        "ix_delivered_files_pending_delete",
    ),
    # The outbox's own statements (storage.deliveries), as the sender and the clean-up run them.
    "outbox": (
        claims.due_statement(Delivery, Delivery.due_at, now=NOW, where=deliveries.due_where()),
        "ix_deliveries_pending_due",
    ),
    "outbox clean-up": (
        deliveries.done_before(NOW - timedelta(days=90), limit=1000),
        "ix_deliveries_created_at",
    ),
}


@pytest.mark.parametrize("name", list(SWEEPS))
def test_sweeps_read_only_due_rows_through_an_index(
    store: tuple[Connection, Store], name: str
) -> None:
    connection, _ = store
    stmt, index = SWEEPS[name]
    _check(connection, stmt, {index})


def test_sweep_history_does_not_slow_the_reminder_sweep(store: tuple[Connection, Store]) -> None:
    """32,000 reminders already sent are outside the partial index the sweep reads."""
    connection, made = store
    stmt, _ = SWEEPS["reminders"]
    assert connection.execute(stmt).first() is None
    counted = connection.scalar(select(Reminder.id).where(Reminder.sent_at.is_not(None)).limit(1))
    assert counted is not None and made.total == 16000


def test_a_page_reads_each_orders_first_names_in_order_from_an_index(
    store: tuple[Connection, Store],
) -> None:
    """Five names a card: read in the order typed, never all of an order's names sorted."""
    connection, _ = store
    postgres = connection.dialect.name == "postgresql"
    for wanted, _ in LISTS.values():
        stmt = order_rows._build(
            "rows" if postgres else "page", wanted, before=None, after=None, limit=11, cap=1000
        )
        lines = plan(connection, stmt)
        shown = "\n".join(lines)
        assert "ix_order_domains_order_position" in indexes_used(lines), shown
        if postgres:  # the index gives each order's names in order: nothing ranks them all
            assert not any("WindowAgg" in line for line in lines), shown
        else:  # the names' sub-select reads the index and sorts nothing
            names = next(i for i, line in enumerate(lines) if "ix_order_domains_order" in line)
            assert "TEMP B-TREE" not in lines[names + 1], shown


@pytest.mark.parametrize("name", ["mine", "all", "mine waiting", "all waiting", "all failed"])
def test_a_sqlite_page_reads_its_ids_in_index_order(
    store: tuple[Connection, Store], name: str
) -> None:
    """A page whose branches are each read in id order from an index sorts nothing: several
    branches are merged as they are read, and no page of ids is copied into a temporary
    table first (lists read by date or by name must sort what they find, and are not here)."""
    connection, _ = store
    if connection.dialect.name != "sqlite":
        pytest.skip("PostgreSQL reads a page a row per name (order_rows._rows_statement)")
    wanted, _ = LISTS[name]
    for before, after in ((None, None), (2000, None), (None, 1000)):
        stmt = order_rows._build("page", wanted, before=before, after=after, limit=11, cap=1000)
        shown = "\n".join(plan(connection, stmt))
        page = shown.split("SCALAR SUBQUERY")[0]  # the page's ids, before each order's columns
        assert "TEMP B-TREE" not in page and "MATERIALIZE" not in page, shown
