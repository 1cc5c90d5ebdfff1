"""The largest order certdesk sells, from registration to issuance, through Slack.

250 names go in as a .txt file attached to the Complete modal (the emulator stores and serves
it over HTTP; certdesk downloads it with the bot token), the order is submitted, verified on
the simulated CA by following its link, checked with "check now", and issued: the certificate
names all 250, and every message and view on the way stays within Block Kit's limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from support.app_fixtures import ALICE, BOB, NOTIFY, Running, wait_for
from support.blockkit_limits import problems
from support.ca_flow import load_order, verify_chain
from support.forms import GOOD_DV
from support.large_orders import NAMES, names_file, register_large

from bot.ca.simulated import mailer
from bot.demo import browser
from bot.orders.polling import poll_order
from bot.orders.reminding import send_due
from bot.views import ids
from storage.models import Watcher, utcnow

VIEW_METHODS = ("views.open", "views.push", "views.update", "views.publish")


def every_view_and_message_within_limits(desk: Running) -> int:
    """Check every message posted and every view sent so far; return how many were checked."""
    found: list[str] = []
    # A file shared into a DM (the CSR, the chain) is a message of its own with no text.
    messages = [m for m in desk.emulator.messages() if not (m.files and not m.blocks)]
    for message in messages:
        found += problems(message.blocks, surface="message", text=message.text)
    views = [c for c in desk.emulator.calls if c.method in VIEW_METHODS]
    for call in views:
        view = call.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        found += problems(view, surface="home" if view.get("type") == "home" else "modal")
    refused = [(c.method, c.error) for c in desk.emulator.calls if not c.ok]
    assert found == [] and refused == [], (found, refused)
    return len(messages) + len(views)


def test_a_250_name_order_from_a_file_is_issued_with_every_name(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s", CERTDESK_NOTIFY_CHANNEL=NOTIFY)
    emu, services = desk.emulator, desk.services
    emu.add_channel(NOTIFY)
    ref = register_large(desk, ALICE)
    order_id = int(ref[3:])
    with services.sessions.begin() as session:
        session.add(Watcher(order_id=order_id, user_id=BOB, added_by=ALICE))

    # The names as a file, attached in the modal; the rest typed as usual.
    form = {k: v for k, v in GOOD_DV.items() if k != ids.DOMAINS}
    body = desk.slack.submit_view(ALICE, {**form, ids.DOMAINS_FILE: names_file(NAMES)}).json()
    assert body is not None and body["response_action"] == "push", body
    confirm = emu.current_view(ALICE)
    assert confirm is not None and confirm["callback_id"] == ids.CONFIRM_SUBMIT
    assert problems(confirm, surface="modal") == []
    assert all(f"`{name}`" in str(confirm["blocks"]) for name in NAMES)  # every name, uncut
    downloads = [c for c in emu.calls if c.method == "files.info"]
    assert downloads == []  # the file object carried its URL: one HTTP GET with the token
    assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    desk.settle()
    order = load_order(services, order_id)
    assert order.state == "submitted" and order.ca_ref
    assert [d.name for d in order.domains] == NAMES

    # Review passes at once; the CA emails the applicant; the reminder DM asks to verify.
    poll_order(services, order_id)
    assert load_order(services, order_id).state == "awaiting_verification"
    send_due(services, worker_id="test", now=utcnow())
    reminder = wait_for(
        lambda: [m for m in emu.dms_to(ALICE) if ids.CHECK_NOW in json.dumps(m.blocks)],
        what="the verification reminder",
    )[-1]
    mail_dir = Path(services.settings.data_dir) / "mail"
    link = mailer.verification_links(mail_dir, ca_ref=order.ca_ref)[-1]
    page = browser.open_page(link, timeout=5)
    assert page.status == 200
    assert browser.press_button(page, timeout=5).status == 200

    # "I've verified — check now": certdesk asks the CA and delivers the certificate.
    desk.click(ALICE, ids.CHECK_NOW, value=str(order_id), message=reminder)
    wait_for(lambda: load_order(services, order_id).state == "issued", what="issuance")
    desk.settle()
    issued = wait_for(lambda: [m for m in emu.dms_to(ALICE) if "is issued" in m.text])
    assert ref in issued[-1].text
    chain = load_order(services, order_id).certificate_pem
    assert chain
    leaf = x509.load_pem_x509_certificates(chain.encode())[0]
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == NAMES
    root = services.ca.root_certificate_pem()  # type: ignore[attr-defined]
    verify_chain(chain.encode(), root_pem=root, name=NAMES[-1], at=leaf.not_valid_before_utc)
    delivered = [f for f in emu.files if f.filename == f"{ref.lower()}.fullchain.pem"]
    assert len(delivered) == 1 and delivered[0].content == chain.encode()

    # The owner's, the watcher's and the channel's messages, and every view, fit Slack;
    # so do the status and the list of an order this size.
    before = len(emu.ephemerals_to(ALICE))
    for words in (f"status {ref}", "list"):
        assert desk.slack.slash_command(ALICE, words).status == 200
    desk.settle()
    assert len(emu.ephemerals_to(ALICE)) >= before + 2
    assert any(ref in m.text for m in emu.dms_to(BOB))
    assert any(ref in m.text for m in emu.messages(NOTIFY))
    assert every_view_and_message_within_limits(desk) >= 8
