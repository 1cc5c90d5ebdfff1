"""A Slack outage longer than slack_sdk's retries delays what people are told; it is not lost."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from support.app_fixtures import ALICE, Running
from support.ca_flow import submitted_order

from bot.orders.announcements import deliver_owed
from bot.orders.submission import send_to_ca
from storage import queries
from storage.models import utcnow

#: Calls slack_sdk makes for one request with certdesk's ServerErrorRetryHandler.
ATTEMPTS = 3
#: A tagged message (an announcement) is posted once per attempt: after a 5xx Slack may hold
#: it, so certdesk looks for its tag before posting again instead of a blind retry.
POST_ATTEMPTS = 1


def _submitted(certdesk: Running) -> int:
    services = certdesk.services
    return submitted_order(services, ALICE, send=False)


def _told(certdesk: Running) -> tuple[int, int]:
    dms = [m for m in certdesk.emulator.dms_to(ALICE) if "submitted to the CA" in m.text]
    csrs = [f for f in certdesk.emulator.files if f.filename.endswith(".csr.pem") and f.uploaded]
    return len(dms), len(csrs)


def test_a_submission_notice_lost_to_an_outage_is_sent_later_once(certdesk: Running) -> None:
    services = certdesk.services
    order_id = _submitted(certdesk)
    # As many 500s as the client tries: the DM fails for good this time.
    certdesk.emulator.fail_next("chat.postMessage", status=500, times=POST_ATTEMPTS)
    assert send_to_ca(services, order_id), "the CA got the order all the same"
    assert _told(certdesk) == (0, 0)
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.delivery_due_at is not None
        due = order.delivery_due_at
        assert "delivery_failed" in [e.action for e in queries.audit_trail(session, order_id)]
    assert deliver_owed(services, now=due - timedelta(seconds=1)) == 0  # not yet due
    # The upload still fails at the first redelivery: tried again later, nothing sent twice.
    certdesk.emulator.fail_next("files.getUploadURLExternal", status=500, times=ATTEMPTS)
    assert deliver_owed(services, now=due) == 0
    assert _told(certdesk) == (1, 0)
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.delivery_due_at is not None
        due = order.delivery_due_at
    assert deliver_owed(services, now=due) == 1
    assert _told(certdesk) == (1, 1)
    assert deliver_owed(services, now=utcnow() + timedelta(hours=1)) == 0
    assert _told(certdesk) == (1, 1)


def test_an_issuance_lost_to_an_outage_is_delivered_later_once(
    start_certdesk: Callable[..., Running],
) -> None:
    from bot.ca.simulated import mailer
    from bot.orders.polling import poll_order

    certdesk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="1s")
    services = certdesk.services
    order_id = _submitted(certdesk)
    ca_ref = send_to_ca(services, order_id)
    assert ca_ref
    time.sleep(1.1)  # the simulated CA's review
    poll_order(services, order_id)
    link = mailer.verification_links(services.settings.data_dir / "mail", ca_ref=ca_ref)[-1]
    assert services.ca.confirm(link.rsplit("/", 1)[1])[0]  # type: ignore[attr-defined]
    certdesk.settle()
    certdesk.emulator.fail_next("chat.postMessage", status=500, times=POST_ATTEMPTS)
    poll_order(services, order_id)

    def issued() -> tuple[int, int]:
        dms = [m for m in certdesk.emulator.dms_to(ALICE) if "is issued" in m.text]
        chains = [f for f in certdesk.emulator.files if f.filename.endswith(".fullchain.pem")]
        return len(dms), len([f for f in chains if f.uploaded])

    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.state == "issued" and order.delivery_due_at
        due = order.delivery_due_at
    assert issued() == (0, 0)
    assert deliver_owed(services, now=due) == 1
    assert issued() == (1, 1)
    assert deliver_owed(services, now=due + timedelta(hours=1)) == 0
    assert issued() == (1, 1)
