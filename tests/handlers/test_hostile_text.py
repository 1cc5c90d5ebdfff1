"""A hostile organization and applicant through rejection, revision and issuance, with the team
channel set: nothing anyone typed (or a CA quoted back) pings, mentions or links in Slack."""

from __future__ import annotations

import json
from collections.abc import Callable

from support.app_fixtures import ALICE, BOB, Running, wait_for
from support.ca_flow import latest_link, load_order
from support.forms import GOOD_ORG
from support.journeys import open_complete, register
from support.markup import live_markup

from bot.scheduler import start_scheduler, stop_scheduler
from bot.views import ids
from storage.models import Watcher

NOTIFY = "CNOTIFY"
REJECTED_NAME = "reject-<!channel> <https://evil.example|click>"
REVISED_NAME = "Evil <!here> <@UBOSS0001> Ltd"
APPLICANT = "Mallory <!everyone> <#CGENERAL1>"


def hostile_form(legal_name: str) -> dict[str, str]:
    return {
        ids.DOMAINS: "shop.example.com",
        ids.APPLICANT_NAME: APPLICANT,
        ids.APPLICANT_EMAIL: "admin@example.com",
        ids.APPLICANT_PHONE: "+44 20 7946 0958",
        ids.CSR_METHOD: "system",
        ids.KEY_ALGORITHM: "p256",
        **GOOD_ORG,
        ids.ORG_LEGAL_NAME: legal_name,
        ids.ORG_CITY: "London <!subteam^S123|@admins>",
    }


def test_hostile_text_stays_inert_through_rejection_and_issuance(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(
        CERTDESK_NOTIFY_CHANNEL=NOTIFY,
        CERTDESK_SIM_REVIEW_DELAY="1s",
        CERTDESK_POLL_INTERVAL="1s",
        CERTDESK_TICK="1s",
        CERTDESK_REMINDER_SCHEDULE="1s,2s",
    )
    emu, services = desk.emulator, desk.services
    emu.add_channel(NOTIFY)
    ref = register(desk, ALICE, **{ids.PRODUCT: "ov", ids.DOMAIN_TYPE: "single",
                                   ids.DOMAIN_COUNT: "1"})  # fmt: skip
    order_id = int(ref[3:])
    with services.sessions.begin() as session:
        session.add(Watcher(order_id=order_id, user_id=BOB, added_by=ALICE))
    answers = []

    def submit(legal_name: str) -> None:
        open_complete(desk, ALICE, ref)
        pushed = desk.slack.submit_view(ALICE, hostile_form(legal_name)).json()
        assert pushed["response_action"] == "push", pushed
        answers.append(pushed)
        assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}

    scheduler = start_scheduler(services)
    try:
        submit(REJECTED_NAME)
        wait_for(lambda: load_order(services, order_id).state == "failed", timeout=20)
        failed = wait_for(lambda: [m for m in emu.dms_to(ALICE) if "did not pass" in str(m.blocks)])
        assert "reject-" in failed[0].text  # the reason quotes the name: inert, not dropped
        submit(REVISED_NAME)
        wait_for(
            lambda: load_order(services, order_id).state == "awaiting_verification", timeout=20
        )
        ca_ref = load_order(services, order_id).ca_ref
        assert ca_ref
        token = latest_link(services, ca_ref).rsplit("/", 1)[-1]
        assert services.ca.confirm(token)[0]  # type: ignore[attr-defined]
        wait_for(lambda: load_order(services, order_id).state == "issued", timeout=20)
        wait_for(lambda: [m for m in emu.dms_to(ALICE) if "is issued" in m.text])
    finally:
        stop_scheduler(scheduler)
    desk.settle()
    status = desk.slack.slash_command(ALICE, f"status {ref}").json()
    listed = desk.slack.slash_command(BOB, "list").json()

    messages = [{"text": m.text, "blocks": m.blocks} for m in emu.messages()]
    assert any("reject-" in m.text for m in emu.messages(NOTIFY))
    views = [c.args for c in emu.calls if c.method.startswith("views.")]
    homes = [emu.home_view(user) for user in (ALICE, BOB)]
    assert len(messages) > 8 and views and all(homes)
    everything = {"messages": messages, "views": views, "homes": homes, "answers": answers}
    for name, rendered in {**everything, "status": status, "listed": listed}.items():
        assert live_markup(rendered, people=(ALICE, BOB)) == [], name
    # What was typed still reads as typed once Slack decodes the escapes.
    shown = json.dumps([messages, views, answers])
    assert "&lt;!channel&gt;" in shown and "&lt;@UBOSS0001&gt;" in shown
