"""Sending to the CA: exactly once, even when several workers try at the same moment."""

from __future__ import annotations

import threading
from typing import Any

from support.app_fixtures import ALICE, Running
from support.ca_flow import submitted_order

from bot.orders.submission import send_to_ca
from storage import queries


def test_concurrent_senders_submit_to_the_ca_once(certdesk: Running) -> None:
    services = certdesk.services
    order_id = submitted_order(services, ALICE, send=False)

    submitted: list[Any] = []
    real_submit = services.ca.submit

    def counting_submit(submission: Any) -> str:
        submitted.append(submission)
        return real_submit(submission)

    services.ca.submit = counting_submit  # type: ignore[method-assign]
    barrier = threading.Barrier(4)
    results: list[str | None] = []

    def send() -> None:
        barrier.wait()
        results.append(send_to_ca(services, order_id))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    certdesk.settle()
    assert len(submitted) == 1
    assert len([r for r in results if r]) == 1
    with services.sessions.begin() as session:
        stored = queries.get_order(session, order_id)
        assert stored is not None and stored.ca_ref in results
        sent = [e for e in queries.audit_trail(session, order_id) if e.action == "sent_to_ca"]
    assert len(sent) == 1


def test_an_order_cancelled_while_the_ca_call_is_in_flight_is_withdrawn_there(
    certdesk: Running,
) -> None:
    from bot import workflow
    from storage.models import Order

    services = certdesk.services
    order_id = submitted_order(services, ALICE, send=False)
    real_submit = services.ca.submit

    def submit_then_cancelled(submission: Any) -> str:
        ref = real_submit(submission)
        with services.sessions.begin() as session:  # the owner cancels meanwhile
            stored = session.get(Order, order_id)
            assert stored is not None
            stored.state = workflow.State.CANCELLED
        return ref

    services.ca.submit = submit_then_cancelled  # type: ignore[method-assign]
    assert send_to_ca(services, order_id) is None
    with services.sessions.begin() as session:
        stored = queries.get_order(session, order_id)
        assert stored is not None and stored.ca_ref and stored.state == "cancelled"
        ca_ref = stored.ca_ref
        actions = [e.action for e in queries.audit_trail(session, order_id)]
    assert "withdrawn_at_ca" in actions
    assert services.ca.status(ca_ref).state == "cancelled"
    assert not [m for m in certdesk.emulator.dms_to(ALICE) if "submitted to the CA" in m.text]


def test_a_stale_failure_about_an_earlier_submission_changes_nothing(certdesk: Running) -> None:
    from bot.orders.failure import fail_order

    services = certdesk.services
    order_id = submitted_order(services, ALICE, send=False)
    current = send_to_ca(services, order_id)
    assert current
    fail_order(services, order_id, reason="old news", actor="ca", ca_ref="SIM-EARLIER")
    with services.sessions.begin() as session:
        stored = queries.get_order(session, order_id)
        assert stored is not None and stored.state == "submitted" and not stored.failure_reason
    fail_order(services, order_id, reason="CAA forbids it", actor="ca", ca_ref=current)
    with services.sessions.begin() as session:
        stored = queries.get_order(session, order_id)
        assert stored is not None and stored.state == "failed"
        assert stored.failure_reason == "CAA forbids it"


def test_a_ca_outage_at_submission_backs_off_and_the_order_is_sent_later(
    certdesk: Running,
) -> None:
    from bot.errors import CAError

    services = certdesk.services
    order_id = submitted_order(services, ALICE, send=False)
    real_submit = services.ca.submit

    def down(submission: Any) -> str:
        raise CAError("The CA answered 503 Service Unavailable.", retryable=True)

    services.ca.submit = down  # type: ignore[method-assign]
    assert send_to_ca(services, order_id) is None
    with services.sessions.begin() as session:
        stored = queries.get_order(session, order_id)
        assert stored is not None and stored.state == "submitted" and stored.ca_ref is None
        assert stored.poll_failures == 1 and stored.next_poll_at is not None
        retry_at = stored.next_poll_at
        actions = [e.action for e in queries.audit_trail(session, order_id)]
    assert "ca_unreachable" in actions
    services.ca.submit = real_submit  # type: ignore[method-assign]
    assert send_to_ca(services, order_id) is None, "not before the retry is due"
    assert send_to_ca(services, order_id, now=retry_at)
