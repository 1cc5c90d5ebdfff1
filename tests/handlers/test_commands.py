"""/cert over signed HTTP: help, new (modal → order → DM), list, status, and who sees what."""

from __future__ import annotations

import re

from support.app_fixtures import ADMIN, ALICE, BOB, Running, wait_for

from bot.views import ids


def register(certdesk: Running, user: str, **values: object) -> str:
    """Register an order as ``user`` through the modal; return its ID from the DM."""

    def registered() -> list:
        return [m for m in certdesk.emulator.dms_to(user) if "registered" in m.text]

    before = len(registered())
    response = certdesk.slack.slash_command(user, "new")
    assert response.status == 200
    view = certdesk.emulator.current_view(user)
    assert view is not None and view["callback_id"] == ids.NEW_ORDER
    given = {
        ids.PRODUCT: "dv",
        ids.DOMAIN_TYPE: "multi",
        ids.DOMAIN_COUNT: "3",
        ids.VALIDITY: "200",
    }
    given.update(values)
    response = certdesk.slack.submit_view(user, given)
    assert response.status == 200 and response.json() in (None, {}), response.body
    dm = wait_for(lambda: registered()[before:], what="registration DM")
    match = re.search(r"CD-\d{4}", dm[-1].text)
    assert match
    return match.group(0)


def test_help_and_unknown_subcommands_answer_ephemerally(certdesk: Running) -> None:
    response = certdesk.slack.slash_command(ALICE, "help", channel_id="C0GENERAL")
    body = response.json()
    assert body is not None and body["response_type"] == "ephemeral"
    assert "/cert new" in str(body["blocks"]) and "/cert complete" in str(body["blocks"])
    unknown = certdesk.slack.slash_command(ALICE, "frobnicate").json()
    assert unknown is not None and "I don't know `/cert frobnicate`" in unknown["text"]
    assert "/cert list" in str(unknown["blocks"])
    assert certdesk.slack.slash_command(ALICE, "").json()["text"].startswith("certdesk help")


def test_new_order_is_stored_dmed_and_listed_only_for_its_owner(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    mine = certdesk.slack.slash_command(ALICE, "list").json()
    assert mine is not None and ref in mine["text"]
    theirs = certdesk.slack.slash_command(BOB, "list").json()
    assert (
        theirs is not None and ref not in str(theirs) and "no certificate orders" in theirs["text"]
    )
    admins = certdesk.slack.slash_command(ADMIN, "list").json()
    assert admins is not None and ref in admins["text"]
    from storage.models import Order

    with certdesk.services.sessions.begin() as session:
        order = session.get(Order, int(ref[3:]))
        assert order is not None
        assert (order.requester_id, order.product, order.domain_count, order.state) == (
            ALICE,
            "dv",
            3,
            "purchased",
        )


def test_new_order_modal_reports_field_errors_and_stores_nothing(certdesk: Running) -> None:
    certdesk.slack.slash_command(ALICE, "new")
    response = certdesk.slack.submit_view(
        ALICE,
        {ids.PRODUCT: "ev", ids.DOMAIN_TYPE: "wildcard", ids.DOMAIN_COUNT: "0", ids.VALIDITY: "90"},
    )
    body = response.json()
    assert body is not None and body["response_action"] == "errors"
    assert "EV" in body["errors"][ids.DOMAIN_TYPE]
    assert "from 1 to 250" in body["errors"][ids.DOMAIN_COUNT]
    assert certdesk.slack.slash_command(ALICE, "list").json()["text"].startswith("You have no")


def test_status_shows_own_order_and_refuses_others(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    own = certdesk.slack.slash_command(ALICE, f"status {ref.lower()}").json()
    assert own is not None and f"Order {ref}" in own["text"]
    other = certdesk.slack.slash_command(BOB, f"status {ref}").json()
    assert (
        other is not None
        and "don't have access" in other["text"]
        and "purchased" not in other["text"]
    )
    missing = certdesk.slack.slash_command(ALICE, "status CD-9999").json()
    assert missing is not None and "no order CD-9999" in missing["text"]
    bad = certdesk.slack.slash_command(ALICE, "status tomorrow").json()
    assert bad is not None and "not an order ID" in bad["text"]
    none = certdesk.slack.slash_command(ALICE, "status").json()
    assert none is not None and "Which order?" in none["text"]


def test_forged_and_stale_signatures_are_refused_and_run_nothing(certdesk: Running) -> None:
    body = b"command=%2Fcert&text=new&user_id=UALICE&team_id=T0001&trigger_id=x"
    forged = certdesk.slack.send(
        body, content_type="application/x-www-form-urlencoded", signature="v0=" + "0" * 64
    )
    assert forged.status == 401
    import time

    stale = certdesk.slack.send(
        body, content_type="application/x-www-form-urlencoded", timestamp=int(time.time()) - 600
    )
    assert stale.status == 401
    assert certdesk.emulator.calls_to("views.open") == []


def test_health_check(certdesk: Running) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{certdesk.http.url}/healthz") as response:
        assert json.loads(response.read()) == {"ok": True}  # alive; the database is /readyz's
    with urllib.request.urlopen(f"{certdesk.http.url}/readyz") as response:
        ready = json.loads(response.read())
        assert ready["ok"] is True and ready["database"] == "ok" and ready["failing"] == []
