"""Approval before the CA, over signed HTTP: who may decide, the first decision wins, the
other approvers' messages say so, a rejection goes back to the requester, and replays of
someone else's buttons change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from support.app_fixtures import ADMIN, ALICE, BOB, CAROL, Running, wait_for
from support.ca_flow import actions, load_order
from support.forms import GOOD_DV, GOOD_ORG
from support.journeys import button_elements, complete_and_submit, open_complete, register
from support.outbox import pending

from bot.emulator.model import Message
from bot.orders.announcements import deliver_owed
from bot.orders.reminding import send_due
from bot.views import ids
from storage import approvals as requests
from storage.models import utcnow

TWO_APPROVERS = {"CERTDESK_APPROVAL": "all", "CERTDESK_APPROVERS": f"{BOB},{CAROL}"}


def request_dm(desk: Running, user: str, ref: str) -> Message:
    """The approval request ``user`` got for ``ref``, as it stands now (found by the ts certdesk
    keeps, so also after it was updated)."""

    def kept() -> list[tuple[str, str]]:
        with desk.services.sessions.begin() as session:
            latest = requests.latest_request(session, int(ref[3:]))
            rows = requests.messages_of(session, latest.id) if latest else []
            return [(m.channel_id, m.ts) for m in rows if m.approver_id == user]

    ((channel, ts),) = wait_for(kept, what=f"{user}'s approval request")
    return desk.emulator.find_message(channel, ts)


def action_ids(message: Message) -> set[str]:
    return {e.get("action_id") for e in button_elements(message)}


def submitted_for_approval(desk: Running) -> tuple[str, int]:
    ref = register(desk, ALICE)
    complete_and_submit(desk, ALICE, ref)
    desk.settle()
    return ref, int(ref[3:])


def test_the_first_approver_wins_and_the_other_sees_who_decided(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(**TWO_APPROVERS)
    ref, order_id = submitted_for_approval(desk)
    order = load_order(desk.services, order_id)
    assert order.state == "awaiting_approval" and order.ca_ref is None, "not past approval"
    for approver in (BOB, CAROL):
        shown = str(request_dm(desk, approver, ref).blocks)
        assert "example.com" in shown and "admin@example.com" in shown and f"<@{ALICE}>" in shown
    assert not [m for m in desk.emulator.dms_to(ALICE) if ids.APPROVE in action_ids(m)]
    waiting = [m for m in desk.emulator.dms_to(ALICE) if "waits for approval" in m.text]
    assert waiting and f"<@{BOB}>" in waiting[0].text and f"<@{CAROL}>" in waiting[0].text

    # The requester replays an approver's Approve: refused, nothing changes.
    desk.click(ALICE, ids.APPROVE, value=str(order_id), message=request_dm(desk, BOB, ref))
    desk.settle()
    assert load_order(desk.services, order_id).state == "awaiting_approval"
    assert any("your own order" in m.text for m in desk.emulator.dms_to(ALICE))

    desk.click(BOB, ids.APPROVE, value=str(order_id), message=request_dm(desk, BOB, ref))
    desk.settle()
    order = load_order(desk.services, order_id)
    assert order.state in ("submitted", "awaiting_verification") and order.ca_ref
    carols = request_dm(desk, CAROL, ref)
    assert f"Approved by <@{BOB}>" in str(carols.blocks) and ids.APPROVE not in action_ids(carols)
    assert carols.edits == 1
    # A late click on a copy of the old message gets a plain answer and changes nothing.
    stale = Message(ts=carols.ts, channel=carols.channel, text="", blocks=_buttons(order_id))
    desk.click(CAROL, ids.APPROVE, value=str(order_id), message=stale)
    desk.settle()
    assert any(f"already approved by <@{BOB}>" in m.text for m in desk.emulator.dms_to(CAROL))
    trail = actions(desk.services, order_id)
    assert trail.count("approved") == 1 and trail.count("sent_to_ca") == 1
    assert any("approved by" in m.text for m in desk.emulator.dms_to(ALICE))


def test_a_rejection_reaches_the_requester_who_revises_and_asks_again(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(**TWO_APPROVERS)
    ref, order_id = submitted_for_approval(desk)
    desk.click(CAROL, ids.REJECT, value=str(order_id), message=request_dm(desk, CAROL, ref))
    view = desk.emulator.current_view(CAROL)
    assert view is not None and view["callback_id"] == ids.REJECT_REASON
    empty = desk.slack.submit_view(CAROL, {ids.APPROVAL_REASON: "  "}).json()
    assert empty is not None and ids.APPROVAL_REASON in empty["errors"]
    reason = "www.example.com belongs to another team; leave it out."
    assert desk.slack.submit_view(CAROL, {ids.APPROVAL_REASON: reason}).json() == {
        "response_action": "clear"
    }
    desk.settle()
    order = load_order(desk.services, order_id)
    assert order.state == "failed" and order.ca_ref is None
    told = [m for m in desk.emulator.dms_to(ALICE) if "not approved" in m.text]
    assert told and reason in str(told[0].blocks) and ids.REVISE in str(told[0].blocks)
    assert "Rejected" in str(request_dm(desk, BOB, ref).blocks)  # the other approver sees it

    desk.click(ALICE, ids.REVISE, value=str(order_id), message=told[0])
    view = desk.emulator.current_view(ALICE)
    assert view is not None and view["callback_id"] == ids.COMPLETE
    assert desk.slack.submit_view(ALICE, {}).json()["response_action"] == "push"
    assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    desk.settle()
    assert load_order(desk.services, order_id).state == "awaiting_approval"
    with desk.services.sessions.begin() as session:
        again = requests.open_request(session, order_id)
        assert again is not None and again.decided_at is None
    trail = actions(desk.services, order_id)
    assert trail.count("approval_requested") == 2 and trail.count("rejected") == 1


def test_strangers_requesters_and_other_orders_replays_change_nothing(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(CERTDESK_APPROVAL="all", CERTDESK_APPROVERS=BOB)
    ref, order_id = submitted_for_approval(desk)
    bobs = request_dm(desk, BOB, ref)
    other = register(desk, CAROL)  # an order that waits for nothing
    for user, action, value in [
        (CAROL, ids.APPROVE, str(order_id)),  # not an approver
        (CAROL, ids.REJECT, str(order_id)),
        (ALICE, ids.REJECT, str(order_id)),  # the requester
        (BOB, ids.APPROVE, other[3:]),  # an approver, but another order
        (BOB, ids.APPROVE, "not-a-number"),
    ]:
        desk.click(user, action, value=value, message=bobs)
    desk.settle()
    assert load_order(desk.services, order_id).state == "awaiting_approval"
    assert load_order(desk.services, int(other[3:])).state == "purchased"
    assert desk.emulator.current_view(CAROL) is None and desk.emulator.current_view(ALICE) is None
    assert "approved" not in actions(desk.services, order_id)


def test_an_admin_may_approve_in_the_approvers_place_with_a_reason(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(CERTDESK_APPROVAL="all", CERTDESK_APPROVERS=BOB)
    ref, order_id = submitted_for_approval(desk)
    desk.click(ADMIN, ids.APPROVE, value=str(order_id), message=request_dm(desk, BOB, ref))
    view = desk.emulator.current_view(ADMIN)
    assert view is not None and view["callback_id"] == ids.OVERRIDE_REASON
    assert load_order(desk.services, order_id).state == "awaiting_approval"
    desk.slack.submit_view(ADMIN, {ids.APPROVAL_REASON: "Bob is on leave; checked it myself."})
    desk.settle()
    assert load_order(desk.services, order_id).state in ("submitted", "awaiting_verification")
    with desk.services.sessions.begin() as session:
        decided = requests.latest_request(session, order_id)
        assert decided is not None and decided.override and decided.decided_by == ADMIN


def test_editing_while_waiting_withdraws_the_request(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(CERTDESK_APPROVAL="all", CERTDESK_APPROVERS=BOB)
    ref, order_id = submitted_for_approval(desk)
    desk.slack.slash_command(ALICE, f"complete {ref}")
    assert desk.slack.submit_view(ALICE, {}).json()["response_action"] == "push"
    desk.settle()
    assert load_order(desk.services, order_id).state == "purchased"
    assert "Withdrawn" in str(request_dm(desk, BOB, ref).blocks)
    desk.click(BOB, ids.APPROVE, value=str(order_id), message=request_dm(desk, BOB, ref))
    desk.settle()
    assert load_order(desk.services, order_id).state == "purchased"


def test_by_default_dv_goes_straight_to_the_ca_and_ov_waits(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(CERTDESK_APPROVAL="ov,ev", CERTDESK_APPROVERS=BOB)
    dv, dv_id = submitted_for_approval(desk)
    assert load_order(desk.services, dv_id).state in ("submitted", "awaiting_verification")
    ov = register(
        desk, ALICE, **{ids.PRODUCT: "ov", ids.DOMAIN_TYPE: "single", ids.DOMAIN_COUNT: "1"}
    )
    open_complete(desk, ALICE, ov)
    form = {**GOOD_DV, ids.DOMAINS: "shop.example.com", **GOOD_ORG}
    assert desk.slack.submit_view(ALICE, form).json()["response_action"] == "push"
    assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    desk.settle()
    order = load_order(desk.services, int(ov[3:]))
    assert order.state == "awaiting_approval" and order.ca_ref is None
    assert request_dm(desk, BOB, ov)  # Bob was asked


def _buttons(order_id: int) -> list[dict]:
    return [
        {
            "type": "actions",
            "block_id": f"approval_{order_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.APPROVE,
                    "value": str(order_id),
                    "text": {"type": "plain_text", "text": "Approve"},
                }
            ],
        }
    ]


def test_waiting_approvals_are_reminded_escalated_and_listed(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(
        CERTDESK_APPROVAL="all",
        CERTDESK_APPROVERS=BOB,
        CERTDESK_REMINDER_SCHEDULE="1h,4h",
        CERTDESK_ESCALATE_AFTER="3h",
        CERTDESK_NOTIFY_CHANNEL="CNOTIFY",
    )
    desk.emulator.add_channel("CNOTIFY")
    ref, order_id = submitted_for_approval(desk)
    asked = load_order(desk.services, order_id).submitted_at
    assert asked is not None

    def reminders_to(user: str) -> list[Message]:
        return [m for m in desk.emulator.dms_to(user) if m.text.startswith("Reminder")]

    assert send_due(desk.services, worker_id="w", now=asked + timedelta(minutes=30)) == 0
    assert send_due(desk.services, worker_id="w", now=asked + timedelta(hours=1, seconds=1)) == 1
    (first,) = reminders_to(BOB)
    assert ref in first.text and ids.APPROVE in action_ids(first)
    assert not reminders_to(ALICE)
    send_due(desk.services, worker_id="w", now=asked + timedelta(hours=3, minutes=1))
    escalated = [m for m in desk.emulator.messages("CNOTIFY") if "nobody has decided" in m.text]
    assert len(escalated) == 1 and ref in escalated[0].text
    assert any("nobody has decided" in m.text for m in desk.emulator.dms_to(ADMIN))

    answer = desk.slack.slash_command(BOB, "approvals").json()
    assert answer is not None and ref in answer["text"]
    nothing = desk.slack.slash_command(CAROL, "approvals").json()
    assert nothing is not None and "Nothing waits" in nothing["text"]
    desk.slack.app_home_opened(BOB)
    desk.settle()
    home = desk.emulator.home_view(BOB)
    assert home is not None and "Waiting for your approval (1)" in str(home["blocks"])

    desk.click(BOB, ids.APPROVE, value=str(order_id), message=first)
    desk.settle()
    later = asked + timedelta(hours=9)
    assert send_due(desk.services, worker_id="w", now=later) == 0  # reminders stopped
    assert len(reminders_to(BOB)) == 1


def test_a_rejection_lost_to_a_slack_outage_is_owed_and_sent_once(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(CERTDESK_APPROVAL="all", CERTDESK_APPROVERS=BOB)
    ref, order_id = submitted_for_approval(desk)
    desk.click(BOB, ids.REJECT, value=str(order_id), message=request_dm(desk, BOB, ref))
    desk.emulator.fail_next("chat.postMessage", status=500)  # the requester's DM, once
    desk.slack.submit_view(BOB, {ids.APPROVAL_REASON: "Use the registered legal name."})
    desk.settle()
    order = load_order(desk.services, order_id)
    (owed,) = pending(desk.services)
    assert order.state == "failed" and owed.what == "rejected", "owed, not lost"
    assert owed.due_at is not None
    assert not [m for m in desk.emulator.dms_to(ALICE) if "not approved" in m.text]
    assert deliver_owed(desk.services, now=owed.due_at) == 1
    assert deliver_owed(desk.services, now=owed.due_at + timedelta(hours=1)) == 0
    told = [m for m in desk.emulator.dms_to(ALICE) if "not approved" in m.text]
    assert len(told) == 1 and "registered legal name" in str(told[0].blocks)


def test_a_request_slack_held_up_is_dropped_once_the_application_changed(
    start_certdesk: Callable[..., Running],
) -> None:
    """Bob's first request is owed while Slack fails; Alice then edits and submits again. When
    Slack is back Bob gets only the request for what she submitted last: the stale one, whose
    Approve would now stand for another application, is never sent."""
    desk = start_certdesk(CERTDESK_APPROVAL="all", CERTDESK_APPROVERS=BOB)
    ref = register(desk, ALICE)
    order_id = int(ref[3:])
    desk.emulator.fail_next("chat.postMessage", status=500, times=2)  # Alice's "waiting", Bob's
    complete_and_submit(desk, ALICE, ref)
    desk.settle()
    stale = [r for r in pending(desk.services) if r.what == "approval_asked"]
    assert len(stale) == 1 and stale[0].user_id == BOB
    complete_and_submit(desk, ALICE, ref)  # edited while waiting: the first request withdrawn
    desk.settle()
    assert deliver_owed(desk.services, now=utcnow() + timedelta(hours=1)) >= 1
    asked = [m for m in desk.emulator.dms_to(BOB) if "needs your approval" in m.text]
    assert len(asked) == 1, [m.text for m in desk.emulator.dms_to(BOB)]
    assert pending(desk.services) == []
    desk.click(BOB, ids.APPROVE, value=str(order_id), message=request_dm(desk, BOB, ref))
    desk.settle()
    assert load_order(desk.services, order_id).state != "awaiting_approval"


def first_button_value(message: object) -> str:
    """The value of a message's first button (an approval request's Approve)."""
    return str(next(button_elements(message))["value"])


def test_approve_on_a_request_whose_application_changed_since_decides_nothing(
    start_certdesk: Callable[..., Running],
) -> None:
    """Bob's first request shows one application; Alice then submits another phone number.
    Slack fails to mark the old message withdrawn, so its buttons are still there: pressing
    its Approve says the application changed and approves nothing."""
    desk = start_certdesk(CERTDESK_APPROVAL="all", CERTDESK_APPROVERS=BOB)
    ref, order_id = submitted_for_approval(desk)
    old = request_dm(desk, BOB, ref)
    old_value = first_button_value(old)
    assert old_value.startswith(f"{order_id}:"), "the request's buttons name what it showed"
    desk.emulator.fail_next("chat.update", status=500, times=3)  # "Withdrawn" never shows
    open_complete(desk, ALICE, ref)
    changed = dict(GOOD_DV, **{ids.APPLICANT_PHONE: "+44 20 7946 0000"})
    assert desk.slack.submit_view(ALICE, changed).json()["response_action"] == "push"
    assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    desk.settle()
    assert load_order(desk.services, order_id).state == "awaiting_approval"
    desk.click(BOB, ids.APPROVE, value=old_value, message=old)
    assert load_order(desk.services, order_id).state == "awaiting_approval", "nothing decided"
    told = [m.text for m in desk.emulator.dms_to(BOB) if "changed after that request" in m.text]
    assert told, [m.text for m in desk.emulator.dms_to(BOB)]
    newest = request_dm(desk, BOB, ref)
    new_value = first_button_value(newest)
    desk.click(BOB, ids.APPROVE, value=new_value, message=newest)
    assert load_order(desk.services, order_id).state != "awaiting_approval", "the new one works"
