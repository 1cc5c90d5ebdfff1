"""The reminder's buttons over signed HTTP: check now, resend the email, snooze; who may press."""

from __future__ import annotations

from datetime import timedelta

from support.app_fixtures import ADMIN, ALICE, BOB, CAROL, Running, wait_for
from test_commands import register
from test_complete import complete_and_submit, order_state

from bot.ca.simulated import mailer
from bot.orders.polling import poll_order
from bot.orders.reminding import send_due
from bot.views import ids
from bot.views.common import esc
from storage import queries
from storage.models import Watcher, utcnow


def waiting(certdesk: Running) -> str:
    """An order submitted through Slack, past the CA's review, with its first reminder sent."""
    ref = register(certdesk, ALICE)
    complete_and_submit(certdesk, ALICE, ref)
    certdesk.settle()
    order_id = int(ref[3:])
    with certdesk.services.sessions.begin() as session:
        session.add(Watcher(order_id=order_id, user_id=BOB, added_by=ALICE))
    poll_order(certdesk.services, order_id)
    assert order_state(certdesk, ref) == "awaiting_verification"
    assert send_due(certdesk.services, worker_id="test", now=utcnow()) == 2
    return ref


def answer(certdesk: Running, user: str, words: str) -> str:
    found = wait_for(
        lambda: [m for m in certdesk.emulator.dms_to(user) if words in m.text], what=words
    )
    return found[-1].text


def test_the_reminder_names_the_mailbox_and_the_cas_email(start_certdesk) -> None:  # noqa: ANN001
    certdesk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    ref = waiting(certdesk)
    (dm,) = [
        m
        for m in certdesk.emulator.dms_to(ALICE)
        if m.metadata and "reminder_id" in m.metadata["event_payload"]
    ]
    shown = str(dm.blocks)
    assert ref in dm.text and "admin@example.com" in shown
    # The sender reads exactly as in the mailbox once Slack decodes its escaped < and >.
    assert esc(mailer.SENDER) in shown and "Action required: confirm control of" in shown
    assert ids.CHECK_NOW in shown and ids.RESEND_VERIFICATION in shown and ids.SNOOZE in shown


def test_buttons_check_resend_and_snooze_for_the_people_allowed(start_certdesk) -> None:  # noqa: ANN001
    certdesk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    ref = waiting(certdesk)
    order_id = int(ref[3:])
    reminder = next(m for m in certdesk.emulator.dms_to(ALICE) if m.metadata)
    ca_ref = certdesk.services.ca  # the simulated CA, to read its Maildir
    mail_dir = ca_ref.mail_dir  # type: ignore[attr-defined]
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.ca_ref
        sim_ref = order.ca_ref
    assert len(mailer.verification_links(mail_dir, ca_ref=sim_ref)) == 1

    # A stranger replaying the owner's buttons is refused, and nothing happens.
    for action in (ids.CHECK_NOW, ids.RESEND_VERIFICATION, ids.SNOOZE):
        certdesk.slack.click(CAROL, action, value=str(order_id), message=reminder)
        certdesk.settle()  # one at a time: Notifier.dm_channel races on a user's first DM
    refusals = [m.text for m in certdesk.emulator.dms_to(CAROL)]
    assert len(refusals) == 3 and all("don't have access to " + ref in t for t in refusals)
    assert len(mailer.verification_links(mail_dir, ca_ref=sim_ref)) == 1
    # A watcher may snooze their own reminders, not resend.
    certdesk.slack.click(BOB, ids.RESEND_VERIFICATION, value=str(order_id), message=reminder)
    assert "watching " + ref in answer(certdesk, BOB, "watching")
    certdesk.slack.click(BOB, ids.SNOOZE)
    assert ref in answer(certdesk, BOB, "Snoozed")

    certdesk.slack.click(ALICE, ids.RESEND_VERIFICATION)
    assert "admin@example.com" in answer(certdesk, ALICE, "fresh verification email")
    assert len(mailer.verification_links(mail_dir, ca_ref=sim_ref)) == 2
    certdesk.slack.click(ALICE, ids.CHECK_NOW)
    assert ref in answer(certdesk, ALICE, "still waiting")

    with certdesk.services.sessions.begin() as session:
        pending = {r.recipient_id: r.due_at for r in _pending(session, order_id)}
        actions = [e.action for e in queries.audit_trail(session, order_id)]
    assert pending[BOB] - pending[ALICE] > timedelta(hours=20), "only Bob's reminders moved"
    assert {"reminders_snoozed", "verification_resent", "check_now"} <= set(actions)

    # The admin may act too; following the newest link issues, and check now says so.
    link = mailer.verification_links(mail_dir, ca_ref=sim_ref)[-1]
    certdesk.services.ca.confirm(link.rsplit("/", 1)[1])  # type: ignore[attr-defined]
    certdesk.slack.click(ADMIN, ids.CHECK_NOW, value=str(order_id), message=reminder)
    assert ref in answer(certdesk, ADMIN, "I asked the CA")
    certdesk.settle()
    assert order_state(certdesk, ref) != "awaiting_verification"
    assert send_due(certdesk.services, worker_id="t", now=utcnow() + timedelta(days=3)) == 0


def _pending(session, order_id: int) -> list:  # noqa: ANN001
    from storage.reminder_slots import pending_for

    return pending_for(session, order_id)
