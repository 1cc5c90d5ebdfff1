"""storage.deliveries: one row per key, one sender per row, and only the claim's holder may
record the outcome; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from storage import db, deliveries
from storage.models import Delivery, Order, Workspace

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def owe(engine: Engine, key: str, *, team_id: str | None = "T1", due: datetime = NOW) -> int | None:
    with db.session_factory(engine).begin() as session:
        row = deliveries.add(
            session,
            key=key,
            what="issued",
            medium="dm",
            payload={"text": "CD-0001 is issued", "blocks": []},
            due_at=due,
            team_id=team_id,
            user_id="UALICE",
        )
        session.flush()
        return row.id if row else None


def load(engine: Engine, delivery_id: int) -> Delivery:
    with db.session_factory(engine).begin() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_key_is_owed_once(engine: Engine) -> None:
    first = owe(engine, "o1:issued:1:dm:UALICE")
    assert first is not None
    assert owe(engine, "o1:issued:1:dm:UALICE") is None, "the same delivery written again"
    assert owe(engine, "o1:issued:2:dm:UALICE") is not None, "another round is another row"


def test_of_many_concurrent_senders_exactly_one_claims_each_row(engine: Engine) -> None:
    ids = [owe(engine, f"o1:n:{i}:dm:UALICE") for i in range(30)]
    sessions = db.session_factory(engine)
    won: list[int] = []
    lock, barrier = threading.Lock(), threading.Barrier(4)

    def sender() -> None:
        barrier.wait()
        got = deliveries.claim(sessions, now=NOW, lease=LEASE, limit=50)
        with lock:
            won.extend(got)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == sorted(ids), "every row claimed, none twice"
    assert deliveries.claim(sessions, now=NOW, lease=LEASE) == [], "held for the lease"


def test_only_the_current_claim_records_the_outcome(engine: Engine) -> None:
    row_id = owe(engine, "o1:issued:1:dm:UALICE")
    assert row_id is not None
    sessions = db.session_factory(engine)
    assert deliveries.claim(sessions, now=NOW, lease=LEASE) == [row_id]
    with sessions.begin() as session:
        first = deliveries.start(session, row_id, held_until=NOW + LEASE, now=NOW, lease=LEASE)
    assert first is not None and not first.in_doubt and first.attempts == 1
    # The first sender hangs past its lease; a second takes the row over, in doubt.
    assert deliveries.claim(sessions, now=NOW + LEASE, lease=LEASE) == [row_id]
    with sessions.begin() as session:
        second = deliveries.start(
            session, row_id, held_until=NOW + 2 * LEASE, now=NOW + LEASE, lease=LEASE
        )
    assert second is not None and second.in_doubt and second.attempts == 2
    with sessions.begin() as session:
        sent = dict(first.payload, filename="cd-0001.pem")
        assert not deliveries.finish(
            session, row_id, first.token, ref="1.1", channel="DA", payload=sent
        )
        assert deliveries.finish(
            session, row_id, second.token, ref="1.2", channel="DA", payload=sent
        )
    row = load(engine, row_id)
    assert (row.status, row.slack_ref, row.due_at, row.in_doubt) == ("sent", "1.2", None, False)
    assert row.payload == {"filename": "cd-0001.pem"}, "a sent row keeps a receipt, not the message"
    with sessions.begin() as session:
        again = deliveries.start(
            session, row_id, held_until=NOW + 2 * LEASE, now=NOW + LEASE, lease=LEASE
        )
        assert again is None, "a sent row is not sent again"


def test_a_batch_whose_lease_ran_out_leaves_a_row_taken_since(engine: Engine) -> None:
    """A sender works through its batch past the lease; another sender claimed the row it had
    not reached yet: the first one no longer starts it (both would have sent it)."""
    row_id = owe(engine, "o1:issued:1:dm:UALICE")
    sessions = db.session_factory(engine)
    assert deliveries.claim(sessions, now=NOW, lease=LEASE) == [row_id]  # the slow batch
    assert deliveries.claim(sessions, now=NOW + LEASE, lease=LEASE) == [row_id]  # another
    with sessions.begin() as session:
        late = NOW + LEASE + timedelta(seconds=1)
        assert (
            deliveries.start(session, row_id, held_until=NOW + LEASE, now=late, lease=LEASE) is None
        )
        taken = deliveries.start(session, row_id, held_until=NOW + 2 * LEASE, now=late, lease=LEASE)
        assert taken is not None and taken.attempts == 1
    # The attempt holds its own lease: a sweep meanwhile does not take the row.
    assert deliveries.claim(sessions, now=late + LEASE - timedelta(seconds=1), lease=LEASE) == []


def test_a_retry_keeps_or_clears_the_doubt_and_a_refusal_gives_up(engine: Engine) -> None:
    row_id = owe(engine, "o1:issued:1:dm:UALICE")
    assert row_id is not None
    sessions = db.session_factory(engine)
    deliveries.claim(sessions, now=NOW, lease=LEASE)
    with sessions.begin() as session:
        attempt = deliveries.start(session, row_id, held_until=NOW + LEASE, now=NOW, lease=LEASE)
        assert attempt is not None and attempt.refusals == 0
    later = NOW + timedelta(seconds=30)
    with sessions.begin() as session:
        assert deliveries.retry(
            session, row_id, attempt.token, at=later, error="not_in_channel", in_doubt=False,
            refused=True,
        )  # fmt: skip
    row = load(engine, row_id)
    assert (row.due_at, row.in_doubt, row.last_error) == (later, False, "not_in_channel")
    assert deliveries.claim(sessions, now=later, lease=LEASE) == [row_id]
    with sessions.begin() as session:
        attempt = deliveries.start(
            session, row_id, held_until=later + LEASE, now=later, lease=LEASE
        )
        assert attempt is not None and not attempt.in_doubt
        assert (attempt.attempts, attempt.refusals) == (2, 1), "outages would not count"
        assert deliveries.give_up(session, row_id, attempt.token, error="not_in_channel")
    row = load(engine, row_id)
    assert (row.status, row.due_at) == ("given_up", None)
    assert deliveries.claim(sessions, now=NOW + timedelta(days=1), lease=LEASE) == []


def test_an_uninstalled_workspaces_rows_wait(engine: Engine) -> None:
    paused = owe(engine, "o1:issued:1:dm:UALICE", team_id="TGONE")
    kept = owe(engine, "t-:notify_channel_refused:1:dm:UADMIN", team_id=None)
    with db.session_factory(engine).begin() as session:
        session.add(Workspace(team_id="TGONE", active=False))
    claimed = deliveries.claim(db.session_factory(engine), now=NOW, lease=LEASE)
    assert claimed == [kept] and paused not in claimed


def test_a_persons_messages_about_an_order_go_out_in_the_order_owed(engine: Engine) -> None:
    """After an outage the later notice waits for the earlier one (submitted before issued);
    another person's, or the channel's, does not wait for it."""
    sessions = db.session_factory(engine)
    with sessions.begin() as session:
        order = Order(team_id="T1", requester_id="UALICE", product="dv", domain_type="single",
                      domain_count=1, validity_days=90, state="issued")  # fmt: skip
        session.add(order)
        session.flush()
        rows = {}
        for key, due, medium, user, channel in (
            ("submitted", NOW + timedelta(minutes=5), "dm", "UALICE", None),  # backing off
            ("issued", NOW, "dm", "UALICE", None),
            ("watcher", NOW, "dm", "UBOB", None),
            ("channel", NOW, "channel", None, "C1"),
        ):
            row = deliveries.add(
                session, key=key, what=key, medium=medium, payload={}, due_at=due,
                order_id=order.id, team_id="T1", user_id=user, channel_id=channel,
            )  # fmt: skip
            session.flush()
            assert row is not None
            rows[key] = row.id
    claimed = deliveries.claim(sessions, now=NOW, lease=LEASE)
    assert sorted(claimed) == [rows["watcher"], rows["channel"]], "Bob's and the channel's go"
    later = NOW + timedelta(minutes=5)
    claimed = deliveries.claim(sessions, now=later, lease=LEASE)
    assert rows["submitted"] in claimed and rows["issued"] not in claimed
    with sessions.begin() as session:
        first = deliveries.start(
            session, rows["submitted"], held_until=later + LEASE, now=later, lease=LEASE
        )
        assert first is not None
        deliveries.finish(
            session, rows["submitted"], first.token, ref="1.1", channel="DA", payload={}
        )
    assert rows["issued"] in deliveries.claim(sessions, now=later, lease=LEASE)


def test_rows_done_with_are_forgotten_after_a_while_pending_ones_never(engine: Engine) -> None:
    sessions = db.session_factory(engine)
    old_sent, old_pending, recent = (owe(engine, f"o1:{k}:1:dm:UALICE") for k in "abc")
    with sessions.begin() as session:
        for row_id, status, age in (
            (old_sent, "sent", timedelta(days=40)),
            (old_pending, "pending", timedelta(days=40)),
            (recent, "sent", timedelta(days=1)),
        ):
            row = session.get(Delivery, row_id)
            assert row is not None
            row.status, row.created_at = status, NOW - age
    with sessions.begin() as session:
        assert deliveries.forget_before(session, NOW - timedelta(days=30)) == 1
    with sessions.begin() as session:
        left = {r.id for r in session.query(Delivery)}
    assert left == {old_pending, recent}
