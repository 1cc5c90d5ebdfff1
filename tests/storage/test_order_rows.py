"""A list's rows: the same pages, cursors and counts as whole orders, in one statement a page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from support.listed import listed

from bot import workflow
from bot.csr_method import CSRMethod
from storage import db, order_rows
from storage.models import Order, OrderDomain, PrivateKey, Watcher
from storage.order_pages import OrderFilter, StateGroup, count_orders, orders_page
from storage.order_rows import rows_page

S = workflow.State
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
ADA, BOB = "UADA", "UBOB"
STATES = [S.ISSUED, S.SUBMITTED, S.FAILED, S.ISSUED, S.AWAITING_VERIFICATION, S.PURCHASED]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """60 orders in two teams, 0 to 7 names each; some with a sealed key, some purged, some
    watched by Ada (a few of them her own)."""
    factory = db.session_factory(engine)
    with factory.begin() as setup:
        for i in range(60):
            state = STATES[i % len(STATES)]
            order = Order(
                team_id="T1" if i % 7 else "T2",
                requester_id=(ADA, BOB)[i % 2],
                product="dv",
                domain_type="multi",
                domain_count=7,
                validity_days=200,
                state=state,
                csr_method=CSRMethod.GENERATED if i % 3 else CSRMethod.UPLOADED,
                failure_reason=f"reason {i}" if state == S.FAILED else None,
                not_after=NOW + timedelta(days=i % 40) if state == S.ISSUED else None,
            )
            order.domains = [
                OrderDomain(position=p, name=f"n{p}.x{i % 4}.example", display=f"N{p}.x{i}")
                for p in range(i % 8)
            ]
            if i % 2 and i % 5 == 1:
                order.watchers = [Watcher(user_id=ADA, added_by=BOB)]
            if i % 10 == 4:  # Ada's own, watched by her too: listed and counted once
                order.watchers = [Watcher(user_id=ADA, added_by=BOB)]
            setup.add(order)
            setup.flush()
            if i % 3:  # sealed; every fourth of them purged since
                setup.add(
                    PrivateKey(
                        order_id=order.id,
                        algorithm="ecdsa-p256",
                        key_id="k",
                        nonce=b"n",
                        ciphertext=None if i % 4 == 0 else b"sealed",
                        purged_at=NOW if i % 4 == 0 else None,
                    )
                )
    with factory() as session:
        yield session


FILTERS = {
    "own and watched": OrderFilter(team_id="T1", user_id=ADA),
    "all (admin)": OrderFilter(team_id="T1", user_id=ADA, all_orders=True),
    "waiting, own": OrderFilter(team_id="T1", user_id=ADA, group=StateGroup.WAITING),
    "failed, all": OrderFilter(team_id="T1", user_id=BOB, all_orders=True, group=StateGroup.FAILED),
    "expiring, all": OrderFilter(
        team_id="T1", user_id=ADA, all_orders=True, group=StateGroup.EXPIRING, now=NOW
    ),
    "domain, own": OrderFilter(team_id="T1", user_id=ADA, domain="x1.example"),
    "nobody's": OrderFilter(team_id="T1", user_id="UNOBODY"),
}


@pytest.mark.parametrize("name", FILTERS)
def test_every_page_both_ways_is_the_page_of_whole_orders(session: Session, name: str) -> None:
    wanted = FILTERS[name]
    whole = orders_page(session, wanted, limit=4)
    rows = rows_page(session, wanted, limit=4, cap=1000)
    assert rows.total == count_orders(session, wanted, cap=1000)
    assert rows_page(session, wanted, limit=4, cap=3).total == min(3, rows.total)
    seen = []
    while True:  # older pages, then back to the newest
        assert [listed(o) for o in whole.orders] == list(rows.orders)
        assert (rows.older, rows.newer) == (whole.older, whole.newer)
        seen += [o.id for o in rows.orders]
        if rows.older is None:
            break
        whole = orders_page(session, wanted, before=whole.older, limit=4)
        rows = rows_page(session, wanted, before=rows.older, limit=4, cap=1000)
        assert rows.total == count_orders(session, wanted, cap=1000)
    assert len(seen) == len(set(seen)) == count_orders(session, wanted)
    while rows.newer is not None:
        whole = orders_page(session, wanted, after=whole.newer, limit=4)
        rows = rows_page(session, wanted, after=rows.newer, limit=4, cap=1000)
        assert [listed(o) for o in whole.orders] == list(rows.orders)
        assert (rows.older, rows.newer) == (whole.older, whole.newer)
    newest = [max(seen)] if seen else []  # "nobody's" lists nothing
    assert [o.id for o in rows.orders[:1]] == newest, "back at the top: the newest order first"


def test_rows_carry_what_a_card_shows(session: Session) -> None:
    page = rows_page(session, FILTERS["all (admin)"], limit=60)
    by_id = {o.id: o for o in page.orders}
    for order in session.query(Order).filter(Order.team_id == "T1"):
        listed = by_id[order.id]
        assert listed.names == tuple(d.display for d in order.domains)[:5]
        assert listed.names_total == len(order.domains)
        assert listed.key_downloadable == order.key_downloadable
        assert listed.ref == order.ref and listed.failure_reason == order.failure_reason
    assert any(o.key_downloadable for o in page.orders)
    assert any(o.key_sealed is False and o.csr_method == CSRMethod.GENERATED for o in page.orders)
    assert any(o.names_total > 5 for o in page.orders)


def test_past_either_end_the_count_still_comes(session: Session) -> None:
    wanted = FILTERS["own and watched"]
    total = count_orders(session, wanted)
    assert rows_page(session, wanted, before=1, limit=4).total == total
    assert rows_page(session, wanted, after=10**6, limit=4).total == total


def test_the_first_page_is_one_statement(engine: Engine, session: Session) -> None:
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    rows_page(session, FILTERS["own and watched"], cap=1000)  # the connection is checked out
    # On SQLite the page is read on the driver's own cursor: its trace sees every statement.
    driver: Any = session.connection().connection.driver_connection
    sqlite = engine.dialect.name == "sqlite"
    event.listen(engine, "before_cursor_execute", seen)
    if sqlite:
        driver.set_trace_callback(statements.append)
    try:
        page = rows_page(session, FILTERS["own and watched"], cap=1000)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        if sqlite:
            driver.set_trace_callback(None)
    assert page.orders and len(statements) == 1, statements
    if sqlite:  # and in one row
        assert statements[0].startswith("SELECT json_group_array(")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # its own cursor: SQLite
def test_a_failed_read_on_the_drivers_cursor_is_sqlalchemys_error(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_rows, "_prepared", lambda *_, **__: ("SELECT nope FROM nowhere", {}))
    with pytest.raises(OperationalError):  # what handlers tell as "the database is away"
        rows_page(session, FILTERS["own and watched"], cap=1000)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_connection_gone_under_the_drivers_cursor_leaves_the_pool(
    engine: Engine, session: Session
) -> None:
    connection = session.connection()
    connection.connection.driver_connection.close()  # type: ignore[union-attr]
    with pytest.raises(DBAPIError) as raised:
        rows_page(session, FILTERS["own and watched"], cap=1000)
    assert raised.value.connection_invalidated and connection.invalidated
