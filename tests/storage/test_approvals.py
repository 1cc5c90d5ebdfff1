"""`/cert approvals` reads: the undecided requests a person may decide, as a few columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from support.home_store import add_orders, reads

from bot import workflow
from storage import approvals, db
from storage.models import ApprovalRequest

ASKED = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
S = workflow.State


def test_each_person_sees_what_waits_for_them_oldest_first_and_no_order_is_loaded(
    engine: Engine,
) -> None:
    sessions = db.session_factory(engine)
    cases = [  # team, approvers, order state, decided
        ("T1", ["UBOB"], S.AWAITING_APPROVAL, False),
        ("T1", ["UBOB", "UCAROL"], S.AWAITING_APPROVAL, False),
        ("T1", ["UCAROL"], S.AWAITING_APPROVAL, False),
        ("T1", ["UBOB"], S.AWAITING_APPROVAL, True),  # decided already
        ("T1", ["UBOB"], S.CANCELLED, False),  # the order no longer waits
        ("T2", ["UBOB"], S.AWAITING_APPROVAL, False),  # another workspace
    ]
    ids = [
        add_orders(engine, [state], team_id=team, requester_id=f"UREQ{n}")[0]
        for n, (team, _, state, _) in enumerate(cases)
    ]
    with sessions.begin() as session:
        for n, (order_id, (_, approvers, _, decided)) in enumerate(zip(ids, cases, strict=True)):
            session.add(
                ApprovalRequest(
                    order_id=order_id,
                    requested_by=f"UREQ{n}",
                    # Asked newest first, so "oldest first" is not the id order.
                    requested_at=ASKED - timedelta(hours=n),
                    digest="0" * 64,
                    approvers=approvers,
                    decided_at=ASKED if decided else None,
                )
            )
    with reads(engine) as counted, sessions.begin() as session:
        bob = approvals.waiting_for(session, user_id="UBOB", everyone=False, team_id="T1")
        carol = approvals.waiting_for(session, user_id="UCAROL", everyone=False, team_id="T1")
        admin = approvals.waiting_for(session, user_id="UADMIN", everyone=True, team_id="T1")
        anywhere = approvals.waiting_for(session, user_id="UBOB", everyone=False)
        nobody = approvals.waiting_for(session, user_id="UDAVE", everyone=False, team_id="T1")
    assert bob == [(ids[1], "UREQ1", ASKED - timedelta(hours=1)), (ids[0], "UREQ0", ASKED)]
    assert [row[0] for row in carol] == [ids[2], ids[1]]
    assert [row[0] for row in admin] == [ids[2], ids[1], ids[0]]
    assert [row[0] for row in anywhere] == [ids[5], ids[1], ids[0]]
    assert nobody == []
    assert counted.statements == 5, "one statement each"
    assert counted.orders_loaded == 0
    assert not any("order_domains" in sql or "watchers" in sql for sql in counted.sql)
