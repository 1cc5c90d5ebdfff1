"""The Home reads per group only the orders it shows: old orders that need someone still show
under thousands of newer ones, and what is read does not grow with the store."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.blockkit_limits import problems
from support.fakes import ADMIN, FakeDesk, build_fake_desk
from support.home_store import add_orders, reads

from bot import workflow
from bot.orders.home import SHOWN, home_orders, refresh_home
from storage.home_pages import HOME_GROUPS, teams_with_orders
from storage.models import Order

S = workflow.State
TEAM, OTHER_TEAM = "T1", "T2"
ALICE, BOB = "UALICE", "UBOB"


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[FakeDesk]:
    """Services on an empty SQLite file or PostgreSQL schema."""
    built = build_fake_desk(tmp_path / "desk", DATABASE_URL=database_url)
    yield built
    built.close()


def _home(desk: FakeDesk, user: str) -> dict:
    refresh_home(desk.services, user, team_id=TEAM)
    return dict(desk.notifier.homes[user][-1])


def _headers(home: dict) -> list[str]:
    return [b["text"]["text"] for b in home["blocks"] if b["type"] == "header"]


def _section_of(home: dict, header: str) -> str:
    """The blocks under one group heading, as text."""
    blocks = home["blocks"]
    start = next(i for i, b in enumerate(blocks) if b.get("text", {}).get("text") == header)
    end = next(
        (i for i in range(start + 1, len(blocks)) if blocks[i]["type"] == "header"), len(blocks)
    )
    return json.dumps(blocks[start:end], ensure_ascii=False)


def test_old_orders_that_need_an_admin_show_under_thousands_of_newer_ones(desk: FakeDesk) -> None:
    engine = desk.services.engine
    old_purchased, old_failed = add_orders(
        engine, [S.PURCHASED, S.FAILED], team_id=TEAM, requester_id=ALICE, failure_reason="CAA"
    )
    add_orders(engine, [S.ISSUED] * 3000, team_id=TEAM, requester_id=BOB)
    add_orders(engine, [S.FAILED] * 40, team_id=OTHER_TEAM, requester_id=BOB)  # not served
    with reads(engine) as small:
        home = _home(desk, ADMIN)
    assert problems(home, surface="home") == []
    needs = _section_of(home, "Needs you (2)")
    assert f"CD-{old_purchased:04d}" in needs and f"CD-{old_failed:04d}" in needs
    assert "Issued (1,000+)" in _headers(home)
    issued = _section_of(home, "Issued (1,000+)")
    assert "more — `/cert list expiring`" in issued
    last = home["blocks"][-1]["elements"][0]["text"]
    assert f"Showing {SHOWN} of 1,002+ orders" in last
    # Only what is shown is read: SHOWN orders, a fixed number of statements.
    assert small.orders_loaded == SHOWN
    assert small.statements <= 4 * len(HOME_GROUPS) + 6, small.sql

    # Four times the history reads the same: no statement more, no order more.
    add_orders(engine, [S.ISSUED] * 9000, team_id=TEAM, requester_id=BOB)
    with reads(engine) as large:
        again = _home(desk, ADMIN)
    assert _section_of(again, "Needs you (2)") == needs
    assert (large.statements, large.orders_loaded) == (small.statements, small.orders_loaded)
    if engine.dialect.name == "sqlite":
        # The work the database did (rows walked included) stays the same too.
        assert large.vm_kilosteps <= 1.25 * small.vm_kilosteps + 20, (small, large)


def test_a_persons_old_and_watched_orders_show_under_their_newer_ones(desk: FakeDesk) -> None:
    engine = desk.services.engine
    (mine,) = add_orders(engine, [S.PURCHASED], team_id=TEAM, requester_id=ALICE)
    (watched,) = add_orders(engine, [S.FAILED], team_id=TEAM, requester_id=BOB, watchers=[ALICE])
    (hidden,) = add_orders(engine, [S.FAILED], team_id=TEAM, requester_id=BOB)
    add_orders(engine, [S.ISSUED] * 1500, team_id=TEAM, requester_id=ALICE)
    add_orders(engine, [S.ISSUED] * 1500, team_id=TEAM, requester_id=BOB)
    with reads(engine) as counted:
        home = _home(desk, ALICE)
    needs = _section_of(home, "Needs you (2)")
    assert f"CD-{mine:04d}" in needs and f"CD-{watched:04d}" in needs
    assert f"CD-{hidden:04d}" not in json.dumps(home)
    assert "You watch this order" in needs
    assert "Issued (1,000+)" in _headers(home)
    assert counted.orders_loaded == SHOWN


def test_a_small_store_shows_every_order_with_exact_counts(desk: FakeDesk) -> None:
    engine = desk.services.engine
    add_orders(
        engine, [S.PURCHASED, S.SUBMITTED, S.ISSUED, S.CANCELLED], team_id=TEAM, requester_id=ALICE
    )
    home = _home(desk, ALICE)
    assert _headers(home) == [
        "Your certificate orders",
        "Needs you (1)",
        "In progress at the CA (1)",
        "Issued (1)",
        "Ended (1)",
    ]
    text = json.dumps(home["blocks"], ensure_ascii=False)
    assert "more —" not in text and "Showing" not in text


def _slow_home(
    orders: list[Order], *, user: str, admin: bool, shown: int
) -> tuple[list[int], dict[str, int]]:
    """The Home worked out the slow way: every visible order, grouped, cut at ``shown``."""
    visible = [
        o
        for o in orders
        if o.team_id == TEAM
        and (admin or o.requester_id == user or any(w.user_id == user for w in o.watchers))
    ]
    ids: list[int] = []
    counts = {}
    for key, states in HOME_GROUPS:
        group = sorted((o.id for o in visible if o.state in states), reverse=True)
        counts[key] = len(group)
        ids += group[: max(0, shown - len(ids))]
    return ids, counts


@pytest.mark.parametrize("shown", [1, 4, 13, 200])
def test_home_orders_match_the_slow_way(desk: FakeDesk, shown: int) -> None:
    engine = desk.services.engine
    rng = random.Random(shown)
    states = list(S)
    for _ in range(12):
        team = rng.choice([TEAM, TEAM, OTHER_TEAM])
        owner = rng.choice([ALICE, BOB, "UCAROL"])
        watchers = [ALICE] if owner != ALICE and rng.random() < 0.4 else []
        picked = [rng.choice(states) for _ in range(rng.randrange(1, 6))]
        add_orders(engine, picked, team_id=team, requester_id=owner, watchers=watchers)
    with desk.services.sessions() as session:
        everything = list(session.query(Order).all())
        for order in everything:
            _ = order.watchers
    for user, admin in ((ALICE, False), (BOB, False), (ADMIN, True)):
        found = home_orders(desk.services, user_id=user, team_id=TEAM, shown=shown)
        ids, counts = _slow_home(everything, user=user, admin=admin, shown=shown)
        assert sorted(o.id for o in found.orders) == sorted(ids), user
        assert {k: c.total for k, c in found.counts.items()} == counts, user
        assert not any(c.capped for c in found.counts.values())


def test_with_no_workspace_known_every_team_is_read(desk: FakeDesk) -> None:
    engine = desk.services.engine
    (here,) = add_orders(engine, [S.FAILED], team_id=TEAM, requester_id=ALICE)
    (there,) = add_orders(engine, [S.PURCHASED], team_id=OTHER_TEAM, requester_id=ALICE)
    add_orders(engine, [S.ISSUED], team_id="T0", requester_id=BOB)
    with desk.services.sessions() as session:
        assert teams_with_orders(session) == ["T0", TEAM, OTHER_TEAM]
    found = home_orders(desk.services, user_id=ALICE)
    assert [o.id for o in found.orders] == [there, here]
    assert found.counts["needs_you"].total == 2
