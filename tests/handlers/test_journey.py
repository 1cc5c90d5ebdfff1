"""The whole journey over signed HTTP with compressed time and the real scheduler.

register → complete → submit → reminder DMs → the CA's email in the Maildir → its link
followed over HTTP → issued → DM with fingerprint → chain file in the owner's DM → an
expiry reminder → Renew opens a prefilled Complete modal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from support.app_fixtures import ALICE, BOB, NOTIFY, Running, wait_for
from support.ca_flow import actions, load_order, verify_chain
from support.forms import GOOD_DV
from support.journeys import button_elements, open_complete, register

from bot import crypto
from bot.ca.simulated import mailer
from bot.demo import browser
from bot.orders import renewal
from bot.scheduler import start_scheduler, stop_scheduler
from bot.views import ids
from storage.models import Reminder, Watcher


def buttons(message: object) -> set[str]:
    return {e["action_id"] for e in button_elements(message)}


def test_the_whole_journey_with_the_real_scheduler(journey: Callable[..., Running]) -> None:
    desk = journey()
    emu = desk.emulator
    emu.add_channel(NOTIFY)
    services = desk.services
    # Register, complete and submit, as Alice in Slack.
    ref = register(desk, ALICE)
    order_id = int(ref[3:])
    with services.sessions.begin() as session:
        session.add(Watcher(order_id=order_id, user_id=BOB, added_by=ALICE))
    open_complete(desk, ALICE, ref)
    assert desk.slack.submit_view(ALICE, GOOD_DV).json()["response_action"] == "push"
    assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    desk.settle()
    order = load_order(services, order_id)
    assert order.state == "submitted" and order.ca_ref
    ca_ref = order.ca_ref
    csr_file = wait_for(
        lambda: [f for f in emu.files if f.filename == f"{ref.lower()}.csr.pem" and f.uploaded]
    )
    assert csr_file[0].content.decode() == order.csr_pem

    scheduler = start_scheduler(services)
    try:
        # Review ends; the CA emails the applicant mailbox; reminders start and repeat.
        wait_for(
            lambda: load_order(services, order_id).state == "awaiting_verification",
            timeout=15,
            what="the CA to ask for verification",
        )

        def reminders() -> list:
            return [m for m in emu.dms_to(ALICE) if ids.CHECK_NOW in buttons(m)]

        reminded = wait_for(lambda: len(reminders()) >= 2 and reminders(), timeout=15)
        assert all(ref in m.text and "admin@example.com" in m.text for m in reminded)
        assert {ids.RESEND_VERIFICATION, ids.SNOOZE} <= buttons(reminded[0])
        assert any(ref in m.text for m in emu.dms_to(BOB))  # the watcher is reminded too
        # The email, in the Maildir, to the applicant mailbox, linking back to certdesk.
        mail_dir = Path(services.settings.data_dir) / "mail"
        emails = mailer.read_messages(mail_dir, ca_ref=ca_ref)
        assert emails and emails[0]["To"].addresses[0].addr_spec == "admin@example.com"
        link = mailer.verification_links(mail_dir, ca_ref=ca_ref)[-1]
        assert link.startswith(f"{desk.http.url}/sim-ca/verify/")
        # Opening the link (as a mail scanner would, too) only asks; the button confirms.
        page = browser.open_page(link, timeout=5)
        assert page.status == 200 and "Confirm that you control" in page.text
        assert page.form_fields is not None
        assert load_order(services, order_id).state == "awaiting_verification"
        confirmed = browser.press_button(page, timeout=5)
        assert confirmed.status == 200 and "confirmed" in confirmed.text
        # The poll job notices; the certificate is delivered.
        wait_for(
            lambda: load_order(services, order_id).state == "issued",
            timeout=15,
            what="issuance",
        )
        issued = wait_for(lambda: [m for m in emu.dms_to(ALICE) if "is issued" in m.text])
        chain_files = wait_for(
            lambda: [
                f
                for f in emu.files
                if f.filename == f"{ref.lower()}.fullchain.pem" and f.uploaded and f.channels
            ]
        )
    finally:
        stop_scheduler(scheduler)
    desk.settle()
    order = load_order(services, order_id)
    assert order.certificate_pem and order.not_after
    chain = order.certificate_pem.encode()
    info = crypto.describe_certificate(chain)
    assert info.sha256_fingerprint in issued[0].text
    assert {ids.DOWNLOAD_KEY, ids.RENEW} <= buttons(issued[0])
    assert len(chain_files) == 1 and chain_files[0].content == chain
    assert chain_files[0].channels == [emu.dm_channel(ALICE)]
    assert crypto.load_csr(order.csr_pem.encode()).public_key_sha256 == info.public_key_sha256
    root = services.ca.root_certificate_pem()  # type: ignore[attr-defined]
    verify_chain(chain, root_pem=root, name="xn--bcher-kva.example.com", at=info.not_before)
    watcher_issued = [m for m in emu.dms_to(BOB) if "is issued" in m.text]
    assert len(watcher_issued) == 1 and not buttons(watcher_issued[0])
    assert any(ref in m.text and "issued" in m.text for m in emu.messages(NOTIFY))
    trail = actions(services, order_id)
    assert trail.count("issued") == 1 and trail.count("chain_delivered") == 1
    # The verification reminders stopped with the state change.
    with services.sessions.begin() as session:
        open_slots = session.scalars(
            select(Reminder).where(
                Reminder.order_id == order_id,
                Reminder.kind == "verification",
                Reminder.sent_at.is_(None),
                Reminder.cancelled_at.is_(None),
            )
        ).all()
        assert open_slots == []

    # An expiry reminder, with the clock moved to 30 days before not_after.
    from bot.orders.reminding import send_due

    send_due(services, worker_id="test", now=order.not_after - timedelta(days=29, hours=23))
    expiry = wait_for(lambda: [m for m in emu.dms_to(ALICE) if ids.RENEW in buttons(m)][1:])
    assert ref in expiry[-1].text
    # Past not_after, the sweep expires the order.
    assert renewal.expire_due(services, now=order.not_after + timedelta(seconds=1)) == 1
    assert load_order(services, order_id).state == "expired"
    # Renew → a DM with Complete → the modal opens prefilled from the old order.
    desk.click(ALICE, ids.RENEW, message=expiry[-1])
    desk.settle()
    renewed = wait_for(lambda: [m for m in emu.dms_to(ALICE) if "Renewal of" in m.text])
    new_ref = renewed[-1].text.split(" started as ")[1][:7]
    assert new_ref != ref and load_order(services, int(new_ref[3:])).renewed_from_id == order_id
    desk.click(ALICE, ids.OPEN_COMPLETE, message=renewed[-1])
    desk.settle()
    view = emu.current_view(ALICE)
    assert view is not None and view["callback_id"] == ids.COMPLETE
    initial = {
        b["block_id"]: b["element"].get("initial_value")
        for b in view["blocks"]
        if b.get("type") == "input"
    }
    assert initial[ids.DOMAINS] == GOOD_DV[ids.DOMAINS]
    assert initial[ids.APPLICANT_EMAIL] == "admin@example.com"
    assert new_ref in str(view)
