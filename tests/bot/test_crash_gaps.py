"""A process dying between an external call (the CA, Slack) and the database write that
records it: the retry neither repeats the call nor loses what it was for."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from support.app_fixtures import ALICE, Running
from support.ca_flow import latest_link, load_order, submitted_order
from support.outbox import pending

from bot.orders import issuance
from bot.orders.announcements import deliver_owed
from bot.orders.polling import poll_order
from bot.orders.submission import send_to_ca
from storage import deliveries, queries
from storage.models import CARecord, Delivery, utcnow


class Died(BaseException):
    """The process ends here (kill -9): nothing after this line runs, no handler catches it."""


def ca_orders(certdesk: Running) -> int:
    with certdesk.services.sessions.begin() as session:
        return int(session.scalar(select(func.count()).select_from(CARecord)) or 0)


def test_dying_after_the_ca_accepted_the_order_submits_it_once(
    certdesk: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = certdesk.services
    order_id = submitted_order(services, ALICE, send=False)
    accept = services.ca.submit

    def accepted_then_died(submission: Any) -> str:
        accept(submission)
        raise Died

    monkeypatch.setattr(services.ca, "submit", accepted_then_died)
    with pytest.raises(Died):
        send_to_ca(services, order_id)
    monkeypatch.undo()
    assert load_order(services, order_id).ca_ref is None, "the reference was never recorded"
    assert ca_orders(certdesk) == 1
    # The poll sweep takes the order over once the dead sender's lease has run out.
    ca_ref = send_to_ca(services, order_id, now=utcnow() + timedelta(minutes=10))
    assert ca_ref and load_order(services, order_id).ca_ref == ca_ref
    assert ca_orders(certdesk) == 1, "the CA knows the repeat as the same order"


@pytest.mark.parametrize("dies", ["before_delivering", "dm_taken", "file_taken"])
def test_dying_while_delivering_a_certificate_delivers_it_once(
    start_certdesk: Callable[..., Running], monkeypatch: pytest.MonkeyPatch, dies: str
) -> None:
    certdesk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    services = certdesk.services
    order_id = submitted_order(services, ALICE)
    poll_order(services, order_id)  # review over: the CA emails the applicant
    ca_ref = load_order(services, order_id).ca_ref
    token = latest_link(services, ca_ref or "").rsplit("/", 1)[1]
    assert services.ca.confirm(token)[0]  # type: ignore[attr-defined]
    certdesk.settle()
    if dies == "before_delivering":  # right after the transaction that marks it issued
        monkeypatch.setattr(issuance, "announce", _raise_died)
    elif dies == "dm_taken":  # Slack took the issued DM; the sender died before recording it
        finish = deliveries.finish

        def finish_or_die(session: Any, delivery_id: int, token: str, **kwargs: Any) -> bool:
            if session.get(Delivery, delivery_id).what == "issued":
                raise Died
            return finish(session, delivery_id, token, **kwargs)

        monkeypatch.setattr(deliveries, "finish", finish_or_die)
    else:  # Slack took the chain file; the sender died before recording it
        monkeypatch.setattr(queries, "record_file", _raise_died)
    with pytest.raises(Died):
        poll_order(services, order_id)
    monkeypatch.undo()
    order = load_order(services, order_id)
    assert order.state == "issued"
    assert [r.what for r in pending(services)], "still owed to the requester"
    # The dead sender's claim runs out; the sweep then looks in Slack before sending again.
    later = utcnow() + services.settings.claim_lease + timedelta(seconds=1)
    deliver_owed(services, now=later)
    assert delivered(certdesk) == (1, 1)
    assert pending(services) == []
    assert deliver_owed(services, now=later + timedelta(hours=1)) == 0
    assert delivered(certdesk) == (1, 1)


def delivered(certdesk: Running) -> tuple[int, int]:
    """(issuance DMs, chain files) the requester has."""
    dms = [m for m in certdesk.emulator.dms_to(ALICE) if "is issued" in m.text]
    chains = [
        f for f in certdesk.emulator.files if f.filename.endswith(".fullchain.pem") and f.uploaded
    ]
    return len(dms), len(chains)


def _raise_died(*args: Any, **kwargs: Any) -> None:
    raise Died
