"""Paged order lists: every visible order exactly once, in both directions, with each filter."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from bot import workflow
from storage import db
from storage.models import Order, OrderDomain, Watcher
from storage.order_pages import (
    OrderFilter,
    StateGroup,
    count_orders,
    normalize_domain,
    orders_page,
)
from storage.order_rows import rows_page

S = workflow.State
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
ADA, BOB = "UADA", "UBOB"
#: A cycle of (state, days to not_after, domain) that every filter slices differently.
PATTERN: list[tuple[str, int | None, str]] = [
    (S.ISSUED, 10, "www.example.com"),
    (S.SUBMITTED, None, "example.com"),
    (S.FAILED, None, "api.example.org"),
    (S.ISSUED, 90, "shop.example.com"),
    (S.AWAITING_VERIFICATION, None, "example-shop.com"),
    (S.PURCHASED, None, "deep.a.example.com"),
    (S.ISSUED, -2, "example.org"),
    (S.EXPIRED, -40, "old.example.com"),
]


@pytest.fixture
def sessions(engine: Engine) -> Iterator[Session]:
    """A store of 3 x 8 x 3 orders in two teams; Ada owns a third, watches some of Bob's and
    some of her own."""
    factory = db.session_factory(engine)
    with factory.begin() as session:
        for i in range(72):
            state, days, domain = PATTERN[i % len(PATTERN)]
            owner = (ADA, BOB, "UCAROL")[(i // len(PATTERN)) % 3]
            team = "T1" if i % 9 else "T2"
            order = Order(
                team_id=team,
                requester_id=owner,
                product="dv",
                domain_type="multi",
                domain_count=2,
                validity_days=200,
                state=state,
                not_after=NOW + timedelta(days=days) if days is not None else None,
            )
            order.domains = [
                OrderDomain(position=0, name=domain, display=domain),
                OrderDomain(position=1, name=f"n{i}.{domain}", display=f"n{i}.{domain}"),
            ]
            if owner == BOB and i % 2:
                order.watchers = [Watcher(user_id=ADA, added_by=BOB)]
            if owner == ADA and i % 2 == 0:  # her own, watched too: listed once all the same
                order.watchers = [Watcher(user_id=ADA, added_by=BOB)]
            session.add(order)
    with factory() as session:
        yield session


def _expected(session: Session, wanted: OrderFilter) -> list[int]:
    """The list worked out the slow way, in Python, newest first."""
    found = []
    for order in session.query(Order).all():
        if order.team_id != wanted.team_id:
            continue
        watching = any(w.user_id == wanted.user_id for w in order.watchers)
        if not wanted.all_orders and order.requester_id != wanted.user_id and not watching:
            continue
        if wanted.group is StateGroup.WAITING and order.state not in workflow.IN_FLIGHT:
            continue
        if wanted.group is StateGroup.FAILED and order.state != S.FAILED:
            continue
        if wanted.group is StateGroup.EXPIRING and not (
            order.state == S.ISSUED
            and order.not_after is not None
            and wanted.now is not None
            and order.not_after <= wanted.now + wanted.expiring_within
        ):
            continue
        if wanted.domain:
            parent = normalize_domain(wanted.domain)
            names = [d.name for d in order.domains]
            if not any(n == parent or n.endswith("." + parent) for n in names):
                continue
        found.append(order.id)
    return sorted(found, reverse=True)


def _walk_older(session: Session, wanted: OrderFilter, limit: int) -> list[list[int]]:
    pages, before = [], None
    while True:
        page = orders_page(session, wanted, before=before, limit=limit)
        pages.append([o.id for o in page.orders])
        if page.older is None:
            return pages
        before = page.older


def _walk_newer(session: Session, wanted: OrderFilter, limit: int) -> list[list[int]]:
    pages, after = [], 0
    while True:
        page = orders_page(session, wanted, after=after, limit=limit)
        pages.append([o.id for o in page.orders])
        if page.newer is None:
            return pages
        after = page.newer


ADA_MINE = OrderFilter(team_id="T1", user_id=ADA)
ADMIN_ALL = OrderFilter(team_id="T1", user_id=ADA, all_orders=True)
FILTERS = {
    "mine": ADA_MINE,
    "all": ADMIN_ALL,
    "mine waiting": replace(ADA_MINE, group=StateGroup.WAITING),
    "all waiting": replace(ADMIN_ALL, group=StateGroup.WAITING),
    "mine failed": replace(ADA_MINE, group=StateGroup.FAILED),
    "all failed": replace(ADMIN_ALL, group=StateGroup.FAILED),
    "mine expiring": replace(ADA_MINE, group=StateGroup.EXPIRING, now=NOW),
    "all expiring": replace(ADMIN_ALL, group=StateGroup.EXPIRING, now=NOW),
    "mine example.com": replace(ADA_MINE, domain="example.com"),
    "all example.com": replace(ADMIN_ALL, domain="Example.COM."),
    "all www.example.com": replace(ADMIN_ALL, domain="www.example.com"),
    "all example.org failed": replace(ADMIN_ALL, domain="example.org", group=StateGroup.FAILED),
    "mine example.com expiring": replace(
        ADA_MINE, domain="example.com", group=StateGroup.EXPIRING, now=NOW
    ),
}


@pytest.mark.parametrize("name", list(FILTERS))
def test_paging_sees_every_order_once_both_ways(sessions: Session, name: str) -> None:
    wanted = FILTERS[name]
    expected = _expected(sessions, wanted)
    assert expected, "the store has orders for every filter"
    limit = 3 if len(expected) < 12 else 7
    older = _walk_older(sessions, wanted, limit)
    newer = _walk_newer(sessions, wanted, limit)
    assert [i for page in older for i in page] == expected
    assert sorted((i for page in newer for i in page), reverse=True) == expected
    for page in older + newer:
        assert page == sorted(page, reverse=True) and 0 < len(page) <= limit
    assert len(older) == -(-len(expected) // limit)
    assert count_orders(sessions, wanted) == len(expected)


@pytest.mark.parametrize("name", list(FILTERS))
def test_a_page_of_rows_from_any_cursor_is_the_next_orders_of_the_list(
    sessions: Session, name: str
) -> None:
    """``order_rows.rows_page`` (one statement a page: on SQLite its ids in one ordered
    SELECT) against the list worked out in Python, from every id in the store as a cursor,
    page edge or not, and from beyond either end, both ways, with the cursors it gives on."""
    wanted = FILTERS[name]
    expected = _expected(sessions, wanted)  # newest first
    ids = list(sessions.scalars(select(Order.id)))
    limit = 3
    for cursor in sorted({0, *ids, max(ids) + 1}):
        below = [i for i in expected if i < cursor]
        shown = below[:limit]
        high = max(shown) if shown else cursor - 1
        page = rows_page(sessions, wanted, before=cursor, limit=limit)
        assert [o.id for o in page.orders] == shown, (name, "before", cursor)
        assert page.older == (min(shown) if len(below) > limit else None), (name, cursor)
        assert page.newer == (high if any(i > high for i in expected) else None), (name, cursor)
        above = sorted(i for i in expected if i > cursor)
        shown = above[:limit]
        low = min(shown) if shown else cursor + 1
        page = rows_page(sessions, wanted, after=cursor, limit=limit)
        assert [o.id for o in page.orders] == shown[::-1], (name, "after", cursor)
        assert page.newer == (max(shown) if len(above) > limit else None), (name, cursor)
        assert page.older == (low if any(i < low for i in expected) else None), (name, cursor)


def test_several_pages_and_cursors_meet(sessions: Session) -> None:
    expected = _expected(sessions, ADMIN_ALL)
    first = orders_page(sessions, ADMIN_ALL, limit=10)
    assert len(expected) > 20 and first.newer is None and first.older is not None
    second = orders_page(sessions, ADMIN_ALL, before=first.older, limit=10)
    assert [o.id for o in second.orders] == expected[10:20]
    back = orders_page(sessions, ADMIN_ALL, after=second.newer, limit=10)
    assert [o.id for o in back.orders] == expected[:10] and back.newer is None


def test_the_domain_filter_matches_the_name_and_names_under_it_only(sessions: Session) -> None:
    found = orders_page(sessions, replace(ADMIN_ALL, domain="example.com"), limit=100).orders
    firsts = {o.domains[0].name for o in found}
    under = {"www.example.com", "shop.example.com", "deep.a.example.com", "old.example.com"}
    assert firsts == {"example.com", *under}
    assert "example-shop.com" not in firsts  # a sibling that sorts inside the index range


def test_a_page_loads_its_orders_domains_and_watchers(sessions: Session) -> None:
    page = orders_page(sessions, ADA_MINE, limit=100)
    watched = [o for o in page.orders if o.requester_id == BOB]
    assert watched and all([w.user_id for w in o.watchers] == [ADA] for o in watched)
    assert all(len(o.domains) == 2 for o in page.orders)


def test_empty_lists_and_bad_arguments(sessions: Session) -> None:
    nobody = OrderFilter(team_id="T9", user_id=ADA)
    empty = orders_page(sessions, nobody)
    assert list(empty.orders) == [] and empty.older is None and empty.newer is None
    assert count_orders(sessions, nobody) == 0
    # Past either end: an empty page whose cursor leads back to the orders.
    expected = _expected(sessions, ADMIN_ALL)
    past_oldest = orders_page(sessions, ADMIN_ALL, before=min(expected), limit=3)
    assert list(past_oldest.orders) == [] and past_oldest.older is None
    assert past_oldest.newer is not None
    back = orders_page(sessions, ADMIN_ALL, after=past_oldest.newer, limit=3)
    assert [o.id for o in back.orders] == sorted(expected)[:3][::-1]
    past_newest = orders_page(sessions, ADMIN_ALL, after=max(expected), limit=3)
    assert list(past_newest.orders) == [] and past_newest.newer is None
    assert past_newest.older is not None
    latest = orders_page(sessions, ADMIN_ALL, before=past_newest.older, limit=3)
    assert [o.id for o in latest.orders] == expected[:3]
    with pytest.raises(ValueError, match="not both"):
        orders_page(sessions, ADA_MINE, before=5, after=1)
    with pytest.raises(ValueError, match="now="):
        orders_page(sessions, replace(ADA_MINE, group=StateGroup.EXPIRING))


def test_the_migration_fills_reversed_names_of_existing_domains(database_url: str) -> None:
    engine = db.make_engine(database_url)
    db.upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO orders (id, team_id, requester_id, product, domain_type,"
                " domain_count, validity_days, state, poll_failures, created_at, updated_at,"
                " version) VALUES (7, 'T1', 'U1', 'dv', 'multi', 2, 200, 'purchased', 0,"
                " :now, :now, 1)"
            ),
            {"now": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO order_domains (order_id, position, name, display) VALUES"
                " (7, 0, 'www.example.com', 'www.example.com'), (7, 1, 'example.net', 'x')"
            )
        )
    db.upgrade(engine)
    with db.session_factory(engine)() as session:
        wanted = OrderFilter(team_id="T1", user_id="U1", domain="example.com")
        assert [o.id for o in orders_page(session, wanted).orders] == [7]
        names = {d.name: d.reversed_name for d in session.get_one(Order, 7).domains}
        assert names == {"www.example.com": "com.example.www", "example.net": "net.example"}
    engine.dispose()


@pytest.mark.parametrize("name", ["mine", "all", "all waiting", "all example.com"])
def test_a_capped_count_stops_at_the_cap(sessions: Session, name: str) -> None:
    wanted = FILTERS[name]
    exact = count_orders(sessions, wanted)
    assert count_orders(sessions, wanted, cap=exact + 5) == exact
    assert count_orders(sessions, wanted, cap=exact - 1) == exact - 1
    assert count_orders(sessions, wanted, cap=1) == 1
