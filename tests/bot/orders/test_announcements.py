"""A Slack outage longer than slack_sdk's retries delays what people are told; it is not lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from support.app_fixtures import ALICE, Running
from support.ca_flow import submitted_order
from support.fake_orders import AtCA, order_at_ca
from support.fakes import FakeDesk
from support.outbox import pending, rows

from bot.orders import complete
from bot.orders.announcements import announce, deliver_owed
from bot.orders.failure import fail_order
from bot.orders.issuance import issue_order
from bot.orders.renewal import expire_due
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


def next_due(desk: Running | FakeDesk) -> datetime:
    """When the earliest owed row is tried again."""
    due = [r.due_at for r in pending(desk.services) if r.due_at is not None]
    assert due, "something is owed"
    return min(due)


def test_a_submission_notice_lost_to_an_outage_is_sent_later_once(certdesk: Running) -> None:
    services = certdesk.services
    order_id = _submitted(certdesk)
    # As many 500s as the client tries: the DM fails for good this time.
    certdesk.emulator.fail_next("chat.postMessage", status=500, times=POST_ATTEMPTS)
    # The upload too (all of its client's attempts), so both wait for the sweep.
    certdesk.emulator.fail_next("files.getUploadURLExternal", status=500, times=ATTEMPTS)
    assert send_to_ca(services, order_id), "the CA got the order all the same"
    assert _told(certdesk) == (0, 0)
    owed = {r.what: r for r in pending(services)}
    assert set(owed) == {"submitted", "csr"}
    assert owed["submitted"].in_doubt, "a 500 may come after Slack stored the message"
    due = next_due(certdesk)
    assert deliver_owed(services, now=due - timedelta(seconds=1)) == 0  # not yet due
    # The upload still fails at the first redelivery: tried again later, nothing sent twice.
    certdesk.emulator.fail_next("files.getUploadURLExternal", status=500, times=ATTEMPTS)
    assert deliver_owed(services, now=max(r.due_at for r in owed.values() if r.due_at)) == 1
    assert _told(certdesk) == (1, 0)
    assert deliver_owed(services, now=next_due(certdesk)) == 1
    assert _told(certdesk) == (1, 1)
    assert deliver_owed(services, now=utcnow() + timedelta(hours=1)) == 0
    assert _told(certdesk) == (1, 1)
    assert certdesk.emulator.calls_to("conversations.history"), "looked before posting again"


def test_an_issuance_lost_to_an_outage_is_delivered_later_once(
    start_certdesk: Callable[..., Running],
) -> None:
    from bot.ca.simulated import mailer
    from bot.orders.polling import poll_order

    certdesk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")  # no review to wait for
    services = certdesk.services
    order_id = _submitted(certdesk)
    ca_ref = send_to_ca(services, order_id)
    assert ca_ref
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
        assert order is not None and order.state == "issued"
    assert issued() == (0, 1), "the chain is not held back by the DM"
    assert [r.what for r in pending(services)] == ["issued"]
    assert deliver_owed(services, now=next_due(certdesk)) == 1
    assert issued() == (1, 1)
    assert deliver_owed(services, now=utcnow() + timedelta(hours=1)) == 0
    assert issued() == (1, 1)


# --- the same rules with the fake notifier, no HTTP -----------------------------------------


def unannounced_order(desk: FakeDesk) -> AtCA:
    """An order at the fake CA whose submission nobody has been told about yet."""
    return order_at_ca(desk, announced=False)


def submission_told(desk: FakeDesk) -> tuple[int, int]:
    dms = [m for m in desk.notifier.dms_to(ALICE) if "submitted to the CA" in m.text]
    return len(dms), len(desk.notifier.uploads_to(ALICE, suffix=".csr.pem"))


def issuance_told(desk: FakeDesk) -> tuple[int, int]:
    dms = [m for m in desk.notifier.dms_to(ALICE) if "is issued" in m.text]
    return len(dms), len(desk.notifier.uploads_to(ALICE, suffix=".fullchain.pem"))


def audit(desk: FakeDesk, order_id: int) -> list[str]:
    with desk.services.sessions.begin() as session:
        return [e.action for e in queries.audit_trail(session, order_id)]


def owed(desk: FakeDesk, order_id: int) -> list[str]:
    """What the order still owes its people (outbox rows not yet sent)."""
    return [r.what for r in pending(desk.services, order_id)]


def test_a_submission_is_announced_once_when_announced_twice(fake_desk: FakeDesk) -> None:
    order = unannounced_order(fake_desk)
    announce(fake_desk.services, order.order_id)
    assert owed(fake_desk, order.order_id) == []
    announce(fake_desk.services, order.order_id)
    assert owed(fake_desk, order.order_id) == []
    assert submission_told(fake_desk) == (1, 1)
    (csr,) = fake_desk.notifier.uploads_to(ALICE)
    assert csr.filename == f"cd-{order.order_id:04d}.csr.pem"
    assert csr.content.startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
    assert audit(fake_desk, order.order_id).count("csr_delivered") == 1
    assert owed(fake_desk, order.order_id) == []


def test_an_issuance_is_announced_once_when_announced_twice(fake_desk: FakeDesk) -> None:
    order = order_at_ca(fake_desk)
    chain = order.chain()
    fake_desk.ca.certificates[order.ca_ref] = chain
    assert issue_order(fake_desk.services, order.order_id, ca_ref=order.ca_ref, now=utcnow())
    announce(fake_desk.services, order.order_id)
    assert issuance_told(fake_desk) == (1, 1)
    (upload,) = fake_desk.notifier.uploads_to(ALICE, suffix=".fullchain.pem")
    assert upload.content == chain
    assert submission_told(fake_desk) == (0, 0), "the submission, told before, is not repeated"
    assert audit(fake_desk, order.order_id).count("chain_delivered") == 1


def test_a_slack_failure_owes_the_delivery_and_only_the_missing_part_is_sent_later(
    fake_desk: FakeDesk,
) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order = unannounced_order(fake_desk)
    notifier.fail_next("dm", to=ALICE, retryable=True, maybe_delivered=True)
    notifier.fail_next("upload_to_dm", to=ALICE, retryable=True)
    announce(services, order.order_id)
    assert submission_told(fake_desk) == (0, 0)
    assert owed(fake_desk, order.order_id) == ["submitted", "csr"]
    due = next_due(fake_desk)
    assert due > utcnow()
    assert deliver_owed(services, now=due - timedelta(seconds=1)) == 0, "not due yet"
    # The DM goes through at the first redelivery (after a look for it), the upload does not.
    notifier.fail_next("upload_to_dm", to=ALICE, retryable=True)
    # (Each attempt backs off from its own time: the CSR's row falls due a moment later.)
    assert deliver_owed(services, now=due + timedelta(seconds=1)) == 1
    assert submission_told(fake_desk) == (1, 0)
    assert ("find_tagged", notifier.dm_channel_of(ALICE)) in notifier.calls
    again = next_due(fake_desk)
    assert again > due
    # The second redelivery sends the CSR only; nothing is sent twice.
    assert deliver_owed(services, now=again) == 1
    assert submission_told(fake_desk) == (1, 1)
    assert owed(fake_desk, order.order_id) == []
    assert deliver_owed(services, now=again + timedelta(hours=1)) == 0
    assert submission_told(fake_desk) == (1, 1)


def test_a_dm_slack_stored_before_losing_its_answer_is_found_not_posted_again(
    fake_desk: FakeDesk,
) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order = unannounced_order(fake_desk)
    notifier.fail_next("dm", to=ALICE, retryable=True, maybe_delivered=True, delivered=True)
    announce(services, order.order_id)
    assert submission_told(fake_desk) == (1, 1), "Slack has it; certdesk does not know yet"
    assert owed(fake_desk, order.order_id) == ["submitted"]
    assert deliver_owed(services, now=next_due(fake_desk)) == 1
    assert submission_told(fake_desk) == (1, 1), "found by its tag, not posted again"
    (row,) = [r for r in rows(services, order.order_id) if r.what == "submitted"]
    assert row.status == "sent" and row.slack_ref


def test_an_owed_issuance_sends_the_chain_without_repeating_the_dm(fake_desk: FakeDesk) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order = order_at_ca(fake_desk)
    fake_desk.ca.certificates[order.ca_ref] = order.chain()
    notifier.fail_next("upload_to_dm", to=ALICE, code="ratelimited", retryable=True)
    assert issue_order(services, order.order_id, ca_ref=order.ca_ref, now=utcnow())
    assert issuance_told(fake_desk) == (1, 0)
    assert deliver_owed(services, now=next_due(fake_desk)) == 1
    assert issuance_told(fake_desk) == (1, 1)


def test_a_team_channel_certdesk_cannot_post_in_does_not_repeat_the_requesters_dm(
    make_fake_desk: Callable[..., FakeDesk],
) -> None:
    desk = make_fake_desk(CERTDESK_NOTIFY_CHANNEL="CTEAM", CERTDESK_ADMINS="UADMIN")
    order = unannounced_order(desk)
    # The bot was never invited to the channel: every post there fails for good.
    desk.notifier.fail_next("post", to="CTEAM", code="not_in_channel", times=10)
    announce(desk.services, order.order_id)
    assert submission_told(desk) == (1, 1)
    assert owed(desk, order.order_id) == ["submitted"], "only the channel line is owed"
    later = utcnow()
    for _ in range(5):  # tried a bounded number of times, then given up and reported
        later += timedelta(hours=1)
        deliver_owed(desk.services, now=later)
    assert owed(desk, order.order_id) == []
    (line,) = [r for r in rows(desk.services, order.order_id) if r.medium == "channel"]
    assert line.status == "given_up" and line.attempts == 3 and line.last_error == "not_in_channel"
    assert submission_told(desk) == (1, 1)
    (told,) = desk.notifier.dms_to("UADMIN")
    assert "CTEAM" in told.text


def test_a_failure_notice_lost_to_an_outage_is_told_later_once(fake_desk: FakeDesk) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order = order_at_ca(fake_desk)
    notifier.fail_next("dm", to=ALICE, retryable=True, maybe_delivered=True)
    fail_order(services, order.order_id, reason="The CSR's key is too weak.", actor="ca")
    assert notifier.dms_to(ALICE) == []
    assert deliver_owed(services, now=next_due(fake_desk)) == 1
    (told,) = notifier.dms_to(ALICE)
    assert "The CSR's key is too weak." in told.text
    announce(services, order.order_id)
    assert len(notifier.dms_to(ALICE)) == 1, "told once"


def test_a_notice_owed_before_the_order_moved_on_is_still_sent_once(fake_desk: FakeDesk) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    order = order_at_ca(fake_desk)
    notifier.fail_next("dm", to=ALICE, retryable=True)
    fail_order(services, order.order_id, reason="The CA said no.", actor="ca")
    complete.submit(services, order.order_id, user_id=ALICE)  # resubmitted meanwhile
    assert deliver_owed(services, now=next_due(fake_desk)) == 1
    (told,) = notifier.dms_to(ALICE)
    assert "The CA said no." in told.text, "what was owed is never dropped"
    assert notifier.uploads == []
    assert owed(fake_desk, order.order_id) == []


def test_an_expiry_notice_lost_to_slack_is_owed_and_the_sweep_goes_on(fake_desk: FakeDesk) -> None:
    services, notifier = fake_desk.services, fake_desk.notifier
    first, second = order_at_ca(fake_desk, ca_ref="FAKE-1"), order_at_ca(fake_desk, ca_ref="FAKE-2")
    for order in (first, second):
        fake_desk.ca.certificates[order.ca_ref] = order.chain()
        assert issue_order(services, order.order_id, ca_ref=order.ca_ref, now=utcnow())
    told = len(notifier.dms_to(ALICE))
    notifier.fail_next("dm", to=ALICE, retryable=True)  # the first expiry DM
    later = utcnow() + timedelta(days=120)
    assert expire_due(services, now=later) == 2, "both expire in one sweep"
    expired = [m.text for m in notifier.dms_to(ALICE)[told:] if "expired" in m.text]
    assert len(expired) == 1
    still = [o.order_id for o in (first, second) if owed(fake_desk, o.order_id)]
    assert len(still) == 1
    assert deliver_owed(services, now=later) == 1
    expired = [m.text for m in notifier.dms_to(ALICE)[told:] if "expired" in m.text]
    assert sorted(text[:7] for text in expired) == ["CD-0001", "CD-0002"]
    announce(services, still[0])
    assert len([m for m in notifier.dms_to(ALICE)[told:] if "expired" in m.text]) == 2, "once"
