"""Cancelling over signed HTTP: confirm first, withdraw at the CA first, leave nothing half-done."""

from __future__ import annotations

import pytest
from support.app_fixtures import ADMIN, ALICE, BOB, Running, wait_for
from support.journeys import audit_actions, complete_and_submit, order_state, register, set_watchers

from bot.ca.base import CAState
from bot.errors import CAError
from bot.views import ids
from storage import queries


def ask_to_cancel(certdesk: Running, user: str, ref: str) -> dict:
    certdesk.slack.slash_command(user, f"cancel {ref}")
    view = certdesk.emulator.current_view(user)
    assert view is not None and view["callback_id"] == ids.CONFIRM_CANCEL
    return view


def confirm(certdesk: Running, user: str) -> dict | None:
    response = certdesk.slack.submit_view(user, {})
    assert response.status == 200, response.body
    certdesk.settle()
    return response.json()


def ca_ref_of(certdesk: Running, ref: str) -> str | None:
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None
        return order.ca_ref


def test_owner_cancels_an_order_not_yet_sent_and_watchers_are_told(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    set_watchers(certdesk, ALICE, ref, [BOB])
    view = ask_to_cancel(certdesk, ALICE, ref)
    assert ref in view["title"]["text"] and "only certdesk's record" in str(view["blocks"])
    # Nothing happens until the confirmation is submitted.
    assert order_state(certdesk, ref) == "purchased"
    assert confirm(certdesk, ALICE) == {"response_action": "clear"}
    assert order_state(certdesk, ref) == "cancelled"
    assert (
        ALICE,
        "cancelled",
        {"previous_state": "purchased", "ca_ref": None, "withdrawn_at_ca": False},
    ) in audit_actions(certdesk, ref)
    told = wait_for(lambda: [m for m in certdesk.emulator.dms_to(BOB) if "cancelled" in m.text])
    assert ref in told[0].text and f"<@{ALICE}>" in told[0].text
    again = certdesk.slack.slash_command(ALICE, f"cancel {ref}").json()
    assert again is not None and "nothing to cancel" in again["text"]


def test_a_submitted_order_is_withdrawn_at_the_ca_first(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    complete_and_submit(certdesk, ALICE, ref)
    certdesk.settle()
    ca_ref = ca_ref_of(certdesk, ref)
    assert ca_ref
    status = certdesk.slack.slash_command(ALICE, f"status {ref}").json()
    assert status is not None and ids.CANCEL_ORDER in str(status["blocks"])
    certdesk.click(ALICE, ids.CANCEL_ORDER, value=str(int(ref[3:])))
    view = certdesk.emulator.current_view(ALICE)
    assert view is not None and "ask the CA to withdraw it" in str(view["blocks"])
    confirm(certdesk, ALICE)
    assert order_state(certdesk, ref) == "cancelled"
    assert certdesk.services.ca.status(ca_ref).state is CAState.CANCELLED
    events = [a for a in audit_actions(certdesk, ref) if a[1] == "cancelled"]
    assert events == [
        (
            ALICE,
            "cancelled",
            {"previous_state": "submitted", "ca_ref": ca_ref, "withdrawn_at_ca": True},
        )
    ]
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None and order.next_poll_at is None


@pytest.mark.parametrize(
    ("retryable", "words"), [(False, "refused to withdraw"), (True, "could not be reached")]
)
def test_when_the_ca_says_no_the_order_stays_as_it_was(
    certdesk: Running, monkeypatch: pytest.MonkeyPatch, retryable: bool, words: str
) -> None:
    ref = register(certdesk, ALICE)
    complete_and_submit(certdesk, ALICE, ref)
    certdesk.settle()
    ca_ref = ca_ref_of(certdesk, ref)
    state = order_state(certdesk, ref)
    trail = audit_actions(certdesk, ref)

    def refuse(ca_ref: str) -> None:
        raise CAError("order is locked for review", retryable=retryable)

    monkeypatch.setattr(certdesk.services.ca, "cancel", refuse)
    ask_to_cancel(certdesk, ALICE, ref)
    confirm(certdesk, ALICE)
    told = wait_for(
        lambda: [m for m in certdesk.emulator.dms_to(ALICE) if "not cancelled" in m.text]
    )
    assert f"{ref} is not cancelled" in told[-1].text and words in told[-1].text
    assert order_state(certdesk, ref) == state and ca_ref_of(certdesk, ref) == ca_ref
    assert audit_actions(certdesk, ref) == trail


def test_an_issued_order_cannot_be_cancelled(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None
        order.state = "issued"
    refused = certdesk.slack.slash_command(ALICE, f"cancel {ref}").json()
    assert refused is not None and "revoked instead" in refused["text"] and ref in refused["text"]
    assert certdesk.emulator.current_view(ALICE) is None


def test_an_admin_cancels_and_both_owner_and_admin_hear_of_it(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    ask_to_cancel(certdesk, ADMIN, ref)
    confirm(certdesk, ADMIN)
    assert order_state(certdesk, ref) == "cancelled"
    owner = wait_for(lambda: [m for m in certdesk.emulator.dms_to(ALICE) if "cancelled" in m.text])
    assert f"cancelled by <@{ADMIN}>" in owner[-1].text
    assert wait_for(lambda: [m for m in certdesk.emulator.dms_to(ADMIN) if "Done" in m.text])
