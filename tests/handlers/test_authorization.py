"""Every button and modal that acts on an order, replayed by someone else: refused, nothing changes.

The owner's own payload (a button from her DM, a modal she opened and filled in) is sent
again, signed like Slack, as a stranger and as a watcher. Each must get a plain refusal that
names the order, and the database, the files, the CA's records and the owner's views must be
exactly as before. A listener that goes missing (404) fails the case.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from support.app_fixtures import ALICE, BOB, CAROL, Running, wait_for
from support.forms import GOOD_DV
from support.journeys import complete_and_submit, open_complete, register, set_watchers

from bot.emulator.views import build_state_values, stateful_elements
from bot.views import ids
from storage.models import Base, DeliveredFile, Order, utcnow

#: Buttons that act on an order, and the state in which its owner would see them.
ACTIONS = {
    "OPEN_COMPLETE": "purchased",
    "SHOW_STATUS": "submitted",
    "CHECK_NOW": "awaiting_verification",
    "RESEND_VERIFICATION": "awaiting_verification",
    "SNOOZE": "awaiting_verification",
    "REVISE": "failed",
    "RENEW": "issued",
    "DOWNLOAD_KEY": "issued",
    "DELETE_KEY_FILE": "issued",
    "PURGE_KEY": "issued",
    "REVOKE": "issued",
    "CANCEL_ORDER": "submitted",
    "OPEN_WATCHERS": "submitted",
}
#: Modal callbacks that act on an order: state, and how the owner opens the modal.
MODALS: dict[str, tuple[str, str]] = {
    "COMPLETE": ("purchased", "complete"),
    "CONFIRM_SUBMIT": ("purchased", "complete+submit"),
    "ADD_WATCHER": ("submitted", "watchers"),
    "CONFIRM_CANCEL": ("submitted", "cancel"),
    "CONFIRM_REVOKE": ("issued", "revoke"),
    "KEY_DOWNLOAD": ("issued", "button:DOWNLOAD_KEY"),
    "CONFIRM_PURGE_KEY": ("issued", "button:PURGE_KEY"),
}
# Confirmations added later are covered too (opened with a synthesized view until listed above).
MODALS |= {
    name: ("submitted", "")
    for name in dir(ids)
    if name.startswith("CONFIRM_") and name not in MODALS and isinstance(getattr(ids, name), str)
}
#: What a watcher may do: look at the order, and snooze the reminders sent to themselves.
WATCHER_MAY = {"SHOW_STATUS", "SNOOZE"}
#: Caches that change when someone is merely DMed; not part of any order.
NOT_ORDER_STATE = {"slack_users", "processed_events"}


def prepared(certdesk: Running, state: str) -> tuple[str, int]:
    """An order of Alice's in ``state`` (really submitted, then moved), with Carol watching.

    An issued order also has a key file delivered to Alice (what DELETE_KEY_FILE names).
    """
    ref = register(certdesk, ALICE)
    order_id = int(ref[3:])
    if state != "purchased":
        complete_and_submit(certdesk, ALICE, ref)
        certdesk.settle()
    set_watchers(certdesk, ALICE, ref, [CAROL])
    with certdesk.services.sessions.begin() as session:
        order = session.get(Order, order_id)
        assert order is not None
        order.state = state
        if state == "failed":
            order.failure_reason = "The CA found a CAA record naming another CA."
        if state == "issued":
            # Enough of an issued order for its owner's modals to open; never sent anywhere.
            order.not_after = utcnow()
            order.certificate_pem = "-----BEGIN CERTIFICATE-----\nplaceholder\n"
    if state == "issued":
        key_file_of(certdesk, order_id)
    return ref, order_id


def key_file_of(certdesk: Running, order_id: int) -> int:
    """A key file delivered to Alice's DM for the order; its delivered_files id."""
    channel, file_id = certdesk.services.notifier.upload_to_dm(
        ALICE, filename="key.pem", content=b"not a real key", title="key"
    )
    with certdesk.services.sessions.begin() as session:
        delivered = DeliveredFile(
            order_id=order_id,
            user_id=ALICE,
            channel_id=channel,
            slack_file_id=file_id,
            kind="key",
            filename="key.pem",
        )
        session.add(delivered)
        session.flush()
        return delivered.id


def snapshot(certdesk: Running) -> dict[str, Any]:
    """Every order-related row, the files in Slack, and what Alice sees."""
    rows: dict[str, Any] = {}
    with certdesk.services.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in NOT_ORDER_STATE:
                found = connection.execute(select(table).order_by(*table.primary_key.columns))
                rows[table.name] = [tuple(r) for r in found]
    emulator = certdesk.emulator
    rows["slack_files"] = sorted(json.dumps(vars(f), default=str) for f in emulator.files)
    rows["alice_home"] = emulator.home_view(ALICE)
    rows["alice_modals"] = emulator.view_stack(ALICE)
    rows["alice_dms"] = [m.text for m in emulator.dms_to(ALICE)]
    return rows


def seen_by(certdesk: Running, user: str, response_body: str, *, dms_before: int) -> str:
    """Everything ``user`` was shown after the replay: the ack, DMs, ephemerals, modals."""
    certdesk.settle()
    emulator = certdesk.emulator
    parts = [response_body]
    parts += [m.text + json.dumps(m.blocks) for m in emulator.dms_to(user)[dms_before:]]
    parts += [m.text for m in emulator.ephemerals_to(user)]
    parts += [json.dumps(v) for v in emulator.view_stack(user)]
    return "\n".join(parts)


def owner_message(certdesk: Running, action_id: str):  # noqa: ANN201 - emulator Message
    """The newest message in Alice's DM with this button, else her newest DM."""
    dms = certdesk.emulator.dms_to(ALICE)
    with_button = [m for m in dms if action_id in json.dumps(m.blocks)]
    return (with_button or dms)[-1]


def refusal(user: str, ref: str) -> str:
    return f"You are watching {ref}" if user == CAROL else f"don't have access to {ref}"


def check_refused(
    certdesk: Running, user: str, ref: str, before: dict, seen: str, *, name: str
) -> None:
    if not (user == CAROL and name in WATCHER_MAY):
        assert refusal(user, ref) in seen, f"{name} as {user}: no plain refusal in {seen!r}"
    if user != CAROL:
        assert "example.com" not in seen, f"{name} showed {user} the order's domains"
    assert snapshot(certdesk) == before, f"{name} as {user} changed something"


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_a_replayed_button_is_refused_and_changes_nothing(certdesk: Running, name: str) -> None:
    action_id = getattr(ids, name)
    ref, order_id = prepared(certdesk, ACTIONS[name])
    value = str(key_file_of(certdesk, order_id) if name == "DELETE_KEY_FILE" else order_id)

    certdesk.settle()
    message = owner_message(certdesk, action_id)
    before = snapshot(certdesk)
    for user in (BOB, CAROL):
        dms_before = len(certdesk.emulator.dms_to(user))
        response = certdesk.click(user, action_id, value=value, message=message)
        if response.status == 404:
            pytest.fail(f"no listener for the {name} button")
        assert response.status == 200, response.body
        if user == BOB or name not in WATCHER_MAY:
            # The refusal arrives after the ack, by DM or in a modal.
            wait_for(
                lambda u=user, d=dms_before: (
                    refusal(u, ref) in seen_by(certdesk, u, "", dms_before=d)
                ),
                timeout=5,
                what=f"refusal of {name} for {user}",
            )
        seen = seen_by(certdesk, user, response.body, dms_before=dms_before)
        check_refused(certdesk, user, ref, before, seen, name=name)


def owners_modal(certdesk: Running, name: str, ref: str, order_id: int) -> dict[str, Any]:
    """The modal as Alice opened it; a synthesized one when she has no way to open it here."""
    callback_id = getattr(ids, name)
    how = MODALS[name][1]
    opened = None
    if how == "complete":
        open_complete(certdesk, ALICE, ref)
    elif how == "complete+submit":
        open_complete(certdesk, ALICE, ref)
        certdesk.slack.submit_view(ALICE, GOOD_DV)
    elif how.startswith("button:"):
        action_id = getattr(ids, how.removeprefix("button:"))
        opened = certdesk.click(
            ALICE, action_id, value=str(order_id), message=owner_message(certdesk, action_id)
        )
    elif how:
        opened = certdesk.slack.slash_command(ALICE, f"{how} {ref}")
    if opened is not None and (opened.status == 404 or "I don't know `/cert" in opened.body):
        pytest.fail(f"nothing opens the {name} modal ({how})")
    certdesk.settle()
    view = certdesk.emulator.current_view(ALICE)
    if view is not None and view.get("callback_id") == callback_id:
        return view
    if how:
        pytest.fail(f"{ALICE} could not open the {name} modal ({how}) to replay it")
    return {
        "id": "VREPLAYED",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"order_id": order_id}),
        "blocks": [],
    }


def filled_in(certdesk: Running, view: dict[str, Any]) -> dict[str, Any]:
    """The view with every input filled as its owner would (GOOD_DV; first options; Bob)."""
    values: dict[str, object] = {}
    for block, element in stateful_elements(view):
        block_id, kind = block.get("block_id"), element.get("type", "")
        if block_id in GOOD_DV:
            values[block_id] = GOOD_DV[block_id]
        elif kind in ("static_select", "radio_buttons") and element.get("options"):
            values[block_id] = element["options"][0]["value"]
        elif kind == "multi_users_select":
            values[block_id] = [BOB]
        elif kind == "plain_text_input":
            values[block_id] = "Correct horse battery staple 42!"

    def no_files(filename: str, content: bytes) -> dict[str, Any]:
        raise AssertionError("no file inputs expected")

    state = build_state_values(view, values, make_file=no_files)
    return {**view, "state": {"values": state}}


@pytest.mark.parametrize("name", sorted(MODALS))
def test_a_replayed_modal_submission_is_refused_and_changes_nothing(
    certdesk: Running, name: str
) -> None:
    ref, order_id = prepared(certdesk, MODALS[name][0])
    view = filled_in(certdesk, owners_modal(certdesk, name, ref, order_id))
    certdesk.settle()
    before = snapshot(certdesk)
    for user in (BOB, CAROL):
        dms_before = len(certdesk.emulator.dms_to(user))
        payload = {
            "type": "view_submission",
            **certdesk.slack._common(user),
            "trigger_id": certdesk.emulator.new_trigger_id(user),
            "view": view,
            "response_urls": [],
        }
        response = certdesk.slack._send_payload(payload)
        if response.status == 404:
            pytest.fail(f"no listener for the {name} modal")
        assert response.status == 200, response.body
        seen = seen_by(certdesk, user, response.body, dms_before=dms_before)
        check_refused(certdesk, user, ref, before, seen, name=name)
