"""The App Home tab over signed HTTP: grouped orders, next actions, admins, limits, retries."""

from __future__ import annotations

import json
import time
import urllib.request

from support.app_fixtures import ADMIN, ALICE, BOB, TEAM, Running, wait_for
from support.home_store import add_orders
from support.journeys import complete_and_submit, register

from bot.views import ids
from storage.models import Order


def open_home(certdesk: Running, user: str) -> dict:
    """Open the Home tab and wait for certdesk to publish it; the blocks as one string too."""
    published = len(certdesk.emulator.calls_to("views.publish"))
    assert certdesk.slack.app_home_opened(user).status == 200
    certdesk.settle()
    wait_for(lambda: len(certdesk.emulator.calls_to("views.publish")) > published)
    home = certdesk.emulator.home_view(user)
    assert home is not None and home["type"] == "home"
    return home


def headers(home: dict) -> list[str]:
    return [b["text"]["text"] for b in home["blocks"] if b["type"] == "header"]


def buttons_for(home: dict, ref: str) -> list[str]:
    block = next(b for b in home["blocks"] if b.get("block_id") == f"home_{int(ref[3:])}")
    return [e["action_id"] for e in block["elements"]]


def test_home_groups_orders_by_what_they_need_with_next_actions(certdesk: Running) -> None:
    waiting = register(certdesk, ALICE)
    sent = register(certdesk, ALICE)
    complete_and_submit(certdesk, ALICE, sent)
    certdesk.settle()
    home = open_home(certdesk, ALICE)
    assert headers(home) == [
        "Your certificate orders",
        "Needs you (1)",
        "In progress at the CA (1)",
    ]
    text = json.dumps(home["blocks"], ensure_ascii=False)
    assert text.index(waiting) < text.index("In progress") < text.index(sent)
    assert buttons_for(home, waiting) == [
        ids.OPEN_COMPLETE,
        ids.SHOW_STATUS,
        ids.OPEN_WATCHERS,
        ids.CANCEL_ORDER,
    ]
    assert ids.OPEN_COMPLETE not in buttons_for(home, sent)
    assert "Bücher.example.com" in text  # domains as typed
    # Bob sees none of Alice's orders; the admin sees both, and whose they are.
    bob = open_home(certdesk, BOB)
    assert waiting not in str(bob["blocks"]) and "no certificate orders" in str(bob["blocks"])
    admin = open_home(certdesk, ADMIN)
    assert waiting in str(admin["blocks"]) and sent in str(admin["blocks"])
    assert f"Requested by <@{ALICE}>" in str(admin["blocks"])
    assert ids.CANCEL_ORDER in buttons_for(admin, waiting)


def test_home_is_refreshed_when_an_order_changes(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    before = open_home(certdesk, ALICE)
    assert "Needs you (1)" in headers(before)
    complete_and_submit(certdesk, ALICE, ref)
    certdesk.settle()
    # No app_home_opened: the notice about the submission republished it.
    after = wait_for(
        lambda: (
            (h := certdesk.emulator.home_view(ALICE))
            and "In progress at the CA (1)" in headers(h)
            and h
        ),
        what="refreshed Home",
    )
    assert "Needs you (1)" not in headers(after)


def test_new_order_button_opens_the_new_order_modal(certdesk: Running) -> None:
    open_home(certdesk, ALICE)
    response = certdesk.click(ALICE, ids.OPEN_NEW_ORDER, source="home")
    assert response.status == 200
    view = certdesk.emulator.current_view(ALICE)
    assert view is not None and view["callback_id"] == ids.NEW_ORDER


def test_many_orders_stay_within_100_blocks_with_a_note(certdesk: Running) -> None:
    with certdesk.services.sessions.begin() as session:
        for i in range(120):
            session.add(
                Order(
                    team_id=TEAM,
                    requester_id=ALICE,
                    product="dv",
                    domain_type="single",
                    domain_count=1,
                    validity_days=90,
                    state=["purchased", "submitted", "issued", "cancelled"][i % 4],
                )
            )
    home = open_home(certdesk, ALICE)  # the emulator refuses a Home over Slack's limits
    assert len(home["blocks"]) <= 100
    note = home["blocks"][-1]
    assert note["type"] == "context" and "of 120 orders" in note["elements"][0]["text"]
    assert "/cert list" in note["elements"][0]["text"]
    # What needs the person comes first: every order being prepared made it in.
    assert "Needs you (30)" in headers(home)
    shown = sum(1 for b in home["blocks"] if str(b.get("block_id", "")).startswith("home_"))
    assert 30 <= shown < 120


def test_a_retried_event_delivery_publishes_once(certdesk: Running) -> None:
    register(certdesk, ALICE)
    certdesk.settle()
    before = len(certdesk.emulator.calls_to("views.publish"))
    body = json.dumps(
        {
            "token": "emulated-verification-token",
            "team_id": TEAM,
            "api_app_id": certdesk.emulator.app_id,
            "type": "event_callback",
            "event_id": "Ev0RETRIED01",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": ALICE,
                "channel": certdesk.emulator.dm_channel(ALICE),
                "tab": "home",
                "event_ts": f"{int(time.time())}.000100",
            },
        }
    )
    for attempt in range(3):
        ts = str(int(time.time()))
        request = urllib.request.Request(
            certdesk.slack.request_url,
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": certdesk.slack.verifier.generate_signature(
                    timestamp=ts, body=body
                ),
                **(
                    {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
                    if attempt
                    else {}
                ),
            },
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        certdesk.settle()
    assert len(certdesk.emulator.calls_to("views.publish")) == before + 1
    # A new event (a fresh event_id) is published again.
    open_home(certdesk, ALICE)
    assert len(certdesk.emulator.calls_to("views.publish")) == before + 2


def test_only_the_requester_is_offered_the_key_download(certdesk: Running) -> None:
    from bot.orders.lookup import order_for
    from bot.orders.submission import send_to_ca
    from bot.views.orders import next_action_buttons

    ref = register(certdesk, ALICE)
    complete_and_submit(certdesk, ALICE, ref)
    certdesk.settle()
    order_id = int(ref[3:])
    send_to_ca(certdesk.services, order_id)
    order = order_for(certdesk.services, order_id, user_id=ALICE)

    def offered(viewer: str) -> bool:
        buttons = next_action_buttons(order, can_act=True, viewer=viewer)
        return ids.DOWNLOAD_KEY in {b.action_id for b in buttons}

    assert offered(ALICE)
    assert not offered(ADMIN)  # admins act on every order, but the key is the requester's


def test_an_admins_home_finds_old_orders_that_need_someone_under_many_newer_ones(
    certdesk: Running,
) -> None:
    engine = certdesk.services.engine
    stuck, failed = add_orders(
        engine, ["purchased", "failed"], team_id=TEAM, requester_id=ALICE, failure_reason="CAA"
    )
    add_orders(engine, ["issued"] * 2000, team_id=TEAM, requester_id=BOB)
    home = open_home(certdesk, ADMIN)  # the emulator refuses a Home over Slack's limits
    assert "Needs you (2)" in headers(home) and "Issued (1,000+)" in headers(home)
    assert ids.OPEN_COMPLETE in buttons_for(home, f"CD-{stuck:04d}")
    assert "Why it failed: CAA" in str(home["blocks"])
    assert ids.SHOW_STATUS in buttons_for(home, f"CD-{failed:04d}")
    text = json.dumps(home["blocks"], ensure_ascii=False)
    assert "more — `/cert list expiring` lists the ones ending soon" in text
    assert "of 1,002+ orders" in text
