"""storage.claims: due rows are claimed once, a lease ahead, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm.exc import StaleDataError

from bot import workflow
from storage import db, queries
from storage.claims import LEASE, claim_due
from storage.models import Order

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def orders(engine: Engine, *due: datetime | None) -> list[int]:
    """One submitted order per ``due`` (its next poll), in that order."""
    with db.session_factory(engine).begin() as session:
        rows = [
            Order(
                team_id="T1",
                requester_id="U1",
                product="dv",
                domain_type="single",
                domain_count=1,
                validity_days=90,
                state=workflow.State.SUBMITTED,
                next_poll_at=at,
            )
            for at in due
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def next_poll(engine: Engine, order_id: int) -> datetime | None:
    with db.session_factory(engine).begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        return order.next_poll_at


def test_due_rows_are_claimed_oldest_first_and_moved_a_lease_ahead(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    late, early, future, never = orders(
        engine, NOW - timedelta(minutes=1), NOW - timedelta(hours=1), NOW + timedelta(hours=1), None
    )
    claimed = claim_due(sessions, Order, Order.next_poll_at, now=NOW)
    assert claimed == [early, late]
    assert next_poll(engine, early) == NOW + LEASE and next_poll(engine, late) == NOW + LEASE
    assert next_poll(engine, future) == NOW + timedelta(hours=1)
    assert next_poll(engine, never) is None
    assert claim_due(sessions, Order, Order.next_poll_at, now=NOW) == [], "held until the lease"
    again = claim_due(sessions, Order, Order.next_poll_at, now=NOW + LEASE)
    assert sorted(again) == sorted([early, late]), "claimable again once the lease ran out"


def test_limit_where_and_skip(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    first, second, third = orders(engine, *[NOW - timedelta(minutes=m) for m in (3, 2, 1)])
    got = claim_due(
        sessions,
        Order,
        Order.next_poll_at,
        now=NOW,
        where=[Order.id != first],
        skip=lambda order: order.id == second,
        lease=timedelta(seconds=30),
    )
    assert got == [third] and next_poll(engine, third) == NOW + timedelta(seconds=30)
    assert next_poll(engine, second) == NOW - timedelta(minutes=2), "a skipped row is untouched"
    assert claim_due(sessions, Order, Order.next_poll_at, now=NOW, limit=1) == [first]


def test_a_claim_makes_a_writer_that_read_before_it_fail(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    (order_id,) = orders(engine, NOW)
    session = sessions()
    stale = queries.get_order(session, order_id)
    assert stale is not None
    assert claim_due(sessions, Order, Order.next_poll_at, now=NOW) == [order_id]
    stale.next_poll_at = None
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
    else:
        raise AssertionError("a write from before the claim undid it")
    finally:
        session.close()
    assert next_poll(engine, order_id) == NOW + LEASE


def test_concurrent_claimers_each_take_a_row_once(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    ids = orders(engine, *[NOW - timedelta(seconds=i) for i in range(40)])
    barrier = threading.Barrier(4)
    taken: list[list[int]] = []
    errors: list[BaseException] = []

    def claim() -> None:
        barrier.wait()
        try:
            mine: list[int] = []
            while got := claim_due(sessions, Order, Order.next_poll_at, now=NOW, limit=5):
                mine += got
            taken.append(mine)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    everything = [i for mine in taken for i in mine]
    assert sorted(everything) == sorted(ids), "every due row claimed exactly once"
