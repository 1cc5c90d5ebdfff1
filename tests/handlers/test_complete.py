"""Complete information and submit for review, over signed HTTP through the emulator."""

from __future__ import annotations

import pytest
from support.app_fixtures import ALICE, BOB, Running, wait_for
from support.forms import GOOD_DV, GOOD_ORG
from support.journeys import complete_and_submit, open_complete, order_state, register

from bot.views import ids
from storage import queries


def test_complete_and_submit_a_dv_order(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    open_complete(certdesk, ALICE, ref)
    response = certdesk.slack.submit_view(ALICE, GOOD_DV)
    body = response.json()
    assert body is not None and body["response_action"] == "push", response.body
    confirm = certdesk.emulator.current_view(ALICE)
    assert confirm is not None and confirm["callback_id"] == ids.CONFIRM_SUBMIT
    shown = str(confirm["blocks"])
    assert "Bücher.example.com" in shown and "xn--bcher-kva.example.com" in shown
    assert "admin@example.com" in shown
    response = certdesk.slack.submit_view(ALICE, {})
    assert response.json() == {"response_action": "clear"}
    assert order_state(certdesk, ref) == "submitted"
    certdesk.settle()
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None
        assert [d.name for d in order.domains] == [
            "example.com",
            "www.example.com",
            "xn--bcher-kva.example.com",
        ]
        assert order.ca_ref, "the CA received the order after the ack"
        actions = [e.action for e in queries.audit_trail(session, order.id)]
    assert actions[:3] == ["registered", "application_saved", "submit"]
    assert "sent_to_ca" in actions
    dm = wait_for(
        lambda: [m for m in certdesk.emulator.dms_to(ALICE) if "submitted to the CA" in m.text]
    )
    assert "admin@example.com" in dm[0].text


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        (ids.DOMAINS, "example.com\nwww.example.com", "add 1 more"),
        (ids.DOMAINS, "example.com\nwww.example.com\nEXAMPLE.com", "repeats"),
        (ids.DOMAINS, "example.com\nwww.example.com\n*.example.com", "wildcard"),
        (ids.DOMAINS, "example.com\nwww.example.com\nco.uk", "public suffix"),
        (ids.DOMAINS, "example.com\nwww.example.com\n192.0.2.1", "IP address"),
        (ids.DOMAINS, "example.com\nwww.example.com\nexa_mple.com", "letters, digits"),
        (ids.DOMAINS, "example.com\nwww.example.com\na.example.com\nb.example.com", "remove 1"),
        (ids.DOMAINS, "example.com\nwww.example.com\n" + "a" * 64 + ".example.com", "limit is 63"),
        (ids.DOMAINS, "example.com\n" + ("a" * 60 + ".") * 5 + "com\nwww.example.com", "253"),
        (ids.DOMAINS, "example.com\nbücher.example.com\nxn--bcher-kva.example.com", "repeats"),
        (ids.APPLICANT_EMAIL, "admin@@example.com", "email"),
        (ids.APPLICANT_PHONE, "020 7946 0958", "+"),
    ],
)
def test_bad_input_gets_a_field_error_and_keeps_everything_typed(
    certdesk: Running, field: str, value: str, words: str
) -> None:
    ref = register(certdesk, ALICE)
    open_complete(certdesk, ALICE, ref)
    typed = {**GOOD_DV, field: value}
    body = certdesk.slack.submit_view(ALICE, typed).json()
    assert body is not None and body["response_action"] == "errors"
    assert list(body["errors"]) == [field]
    assert words.lower() in body["errors"][field].lower()
    assert order_state(certdesk, ref) == "purchased"
    # Closing and reopening the modal brings back exactly what was typed.
    certdesk.slack.close_view(ALICE)
    reopened = open_complete(certdesk, ALICE, ref)
    initial = {
        b["block_id"]: b["element"].get("initial_value")
        for b in reopened["blocks"]
        if b.get("type") == "input"
    }
    assert initial[field] == value
    assert initial[ids.APPLICANT_NAME] == "Alice Example"


def test_ov_order_needs_an_organization_and_hints_gb_for_uk(certdesk: Running) -> None:
    ref = register(
        certdesk, ALICE, **{ids.PRODUCT: "ov", ids.DOMAIN_TYPE: "single", ids.DOMAIN_COUNT: "1"}
    )
    view = open_complete(certdesk, ALICE, ref)
    assert ids.ORG_LEGAL_NAME in {b.get("block_id") for b in view["blocks"]}
    typed = {**GOOD_DV, **GOOD_ORG, ids.DOMAINS: "shop.example.com", ids.ORG_COUNTRY: "UK"}
    body = certdesk.slack.submit_view(ALICE, typed).json()
    assert body is not None and list(body["errors"]) == [ids.ORG_COUNTRY]
    assert "GB" in body["errors"][ids.ORG_COUNTRY]
    body = certdesk.slack.submit_view(ALICE, {**typed, ids.ORG_COUNTRY: "GB"}).json()
    assert body is not None and body["response_action"] == "push"
    assert "Example Ltd" in str(certdesk.emulator.current_view(ALICE))
    certdesk.slack.submit_view(ALICE, {})
    assert order_state(certdesk, ref) == "submitted"
    # The organization is saved and offered on the next OV order.
    second = register(
        certdesk, ALICE, **{ids.PRODUCT: "ov", ids.DOMAIN_TYPE: "single", ids.DOMAIN_COUNT: "1"}
    )
    view = open_complete(certdesk, ALICE, second)
    assert "Example Ltd (GB)" in str(view["blocks"])


def test_another_user_can_neither_open_nor_submit_nor_replay(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    refused = certdesk.slack.slash_command(BOB, f"complete {ref}").json()
    assert refused is not None and "don't have access" in refused["text"]
    assert certdesk.emulator.current_view(BOB) is None
    # Bob replays Alice's modal (with her order in its private_metadata) as his own.
    alice_view = open_complete(certdesk, ALICE, ref)
    body = certdesk.slack.submit_view(BOB, GOOD_DV, view=alice_view).json()
    assert body is not None and body["response_action"] == "errors"
    assert "don't have access" in " ".join(body["errors"].values())
    # And a replayed confirmation.
    certdesk.slack.submit_view(ALICE, GOOD_DV)
    confirm = certdesk.emulator.current_view(ALICE)
    body = certdesk.slack.submit_view(BOB, {}, view=confirm).json()
    assert body is not None and body["response_action"] == "update"
    assert "don't have access" in str(body["view"])
    assert order_state(certdesk, ref) == "purchased"
    # A replayed button click from Alice's DM opens nothing for Bob.
    alices_dm = next(m for m in certdesk.emulator.dms_to(ALICE) if "registered" in m.text)
    opened = len(certdesk.emulator.calls_to("views.open"))
    certdesk.click(BOB, ids.OPEN_COMPLETE, message=alices_dm)
    certdesk.settle()
    assert len(certdesk.emulator.calls_to("views.open")) == opened
    assert any("don't have access" in m.text for m in certdesk.emulator.dms_to(BOB))


def test_submitted_order_cannot_be_edited(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    complete_and_submit(certdesk, ALICE, ref)
    refused = certdesk.slack.slash_command(ALICE, f"complete {ref}").json()
    assert refused is not None and "can only be changed before" in refused["text"]


def test_a_second_submit_click_that_loses_the_race_is_told_so_not_an_incident(
    certdesk: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A double-click on Submit: both requests load the order; the other one commits first.
    from sqlalchemy import text

    from bot import workflow

    ref = register(certdesk, ALICE)
    open_complete(certdesk, ALICE, ref)
    certdesk.slack.submit_view(ALICE, GOOD_DV)
    real_next_state = workflow.next_state

    def other_click_commits_first(state: str, event: workflow.Event) -> str:
        monkeypatch.setattr(workflow, "next_state", real_next_state)
        with certdesk.services.engine.begin() as other:
            other.execute(
                text("UPDATE orders SET state = 'submitted', version = version + 1 WHERE id = :i"),
                {"i": int(ref[3:])},
            )
        return real_next_state(state, event)

    monkeypatch.setattr(workflow, "next_state", other_click_commits_first)
    body = certdesk.slack.submit_view(ALICE, {}).json()
    assert body is not None and body["response_action"] == "update", body
    shown = str(body["view"]["blocks"])
    assert "Something went wrong" not in shown
    assert f"{ref} is under review by the CA, so it cannot be submitted now" in shown
    assert order_state(certdesk, ref) == "submitted"


def test_an_ev_order_refuses_a_wildcard_on_its_field(certdesk: Running) -> None:
    ref = register(certdesk, ALICE, **{ids.PRODUCT: "ev", ids.DOMAIN_COUNT: "3"})
    open_complete(certdesk, ALICE, ref)
    typed = {**GOOD_DV, **GOOD_ORG, ids.DOMAINS: "example.com\nwww.example.com\n*.example.com"}
    body = certdesk.slack.submit_view(ALICE, typed).json()
    assert body is not None and list(body["errors"]) == [ids.DOMAINS]
    assert "EV certificates cannot cover wildcards" in body["errors"][ids.DOMAINS]
    assert order_state(certdesk, ref) == "purchased"
