"""Watchers over signed HTTP: the owner picks them in a modal; they follow but change nothing."""

from __future__ import annotations

from support.app_fixtures import ADMIN, ALICE, BOB, CAROL, Running, wait_for
from support.journeys import (
    audit_actions,
    complete_and_submit,
    open_watchers,
    order_state,
    register,
    set_watchers,
    watcher_ids,
)

from bot.views import ids


def test_owner_adds_a_watcher_who_is_told_sees_the_order_and_cannot_change_it(
    certdesk: Running,
) -> None:
    ref = register(certdesk, ALICE)
    assert set_watchers(certdesk, ALICE, ref, [BOB]) in (None, {})
    assert watcher_ids(certdesk, ref) == [BOB]
    assert (ALICE, "watcher_added", {"watcher": BOB}) in audit_actions(certdesk, ref)
    told = wait_for(lambda: [m for m in certdesk.emulator.dms_to(BOB) if ref in m.text])
    assert f"<@{ALICE}> added you as a watcher of order *{ref}*" in told[0].text
    # The watcher's Home was refreshed to show the order, without buttons that act.
    home = wait_for(lambda: certdesk.emulator.home_view(BOB), what="Bob's Home")
    assert ref in str(home["blocks"]) and ids.OPEN_COMPLETE not in str(home["blocks"])
    # Watchers see it in list and status...
    listed = certdesk.slack.slash_command(BOB, "list").json()
    assert listed is not None and ref in listed["text"]
    status = certdesk.slack.slash_command(BOB, f"status {ref}").json()
    assert status is not None and f"Order {ref}" in status["text"]
    assert ids.CANCEL_ORDER not in str(status["blocks"])
    assert ids.OPEN_WATCHERS not in str(status["blocks"])
    # ...but changing it is refused in plain words.
    for word in ("complete", "cancel", "watchers"):
        refused = certdesk.slack.slash_command(BOB, f"{word} {ref}").json()
        assert refused is not None and f"You are watching {ref}" in refused["text"], word
    assert certdesk.emulator.current_view(BOB) is None
    assert watcher_ids(certdesk, ref) == [BOB]


def test_watchers_get_the_orders_updates(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    set_watchers(certdesk, ALICE, ref, [BOB])
    complete_and_submit(certdesk, ALICE, ref)
    certdesk.settle()
    update = wait_for(
        lambda: [m for m in certdesk.emulator.dms_to(BOB) if "You watch this order" in m.text]
    )
    assert ref in update[0].text and not update[0].blocks


def test_removing_and_replacing_watchers_is_audited_and_told(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    set_watchers(certdesk, ALICE, ref, [BOB, CAROL])
    view = open_watchers(certdesk, ALICE, ref)
    # The current watchers come preselected, so removing someone is unticking them.
    element = next(b["element"] for b in view["blocks"] if b.get("block_id") == ids.WATCHER_USERS)
    assert sorted(element["initial_users"]) == [BOB, CAROL]
    certdesk.slack.submit_view(ALICE, {ids.WATCHER_USERS: [CAROL]})
    certdesk.settle()
    assert watcher_ids(certdesk, ref) == [CAROL]
    trail = audit_actions(certdesk, ref)
    assert (ALICE, "watcher_removed", {"watcher": BOB}) in trail
    assert [a for a in trail if a[1] == "watcher_added"] == [
        (ALICE, "watcher_added", {"watcher": BOB}),
        (ALICE, "watcher_added", {"watcher": CAROL}),
    ]
    assert wait_for(lambda: [m for m in certdesk.emulator.dms_to(BOB) if "removed you" in m.text])


def test_owner_in_the_list_gets_a_field_error_and_nothing_changes(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    body = set_watchers(certdesk, ALICE, ref, [BOB, ALICE])
    assert body is not None and body["response_action"] == "errors"
    assert "owns" in body["errors"][ids.WATCHER_USERS] and ref in body["errors"][ids.WATCHER_USERS]
    assert watcher_ids(certdesk, ref) == []


def test_an_admin_may_manage_watchers_and_the_owner_is_told_who(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    set_watchers(certdesk, ADMIN, ref, [CAROL])
    assert watcher_ids(certdesk, ref) == [CAROL]
    told = wait_for(lambda: [m for m in certdesk.emulator.dms_to(CAROL) if ref in m.text])
    assert f"on behalf of <@{ALICE}>" in told[0].text
    assert (ADMIN, "watcher_added", {"watcher": CAROL}) in audit_actions(certdesk, ref)


def test_a_stranger_can_open_no_watchers_modal(certdesk: Running) -> None:
    ref = register(certdesk, ALICE)
    refused = certdesk.slack.slash_command(BOB, f"watchers {ref}").json()
    assert refused is not None and f"don't have access to {ref}" in refused["text"]
    assert certdesk.emulator.current_view(BOB) is None
    assert order_state(certdesk, ref) == "purchased"
