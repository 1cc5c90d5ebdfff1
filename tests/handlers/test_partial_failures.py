"""Partial Slack failures lose and repeat nothing: a notify channel that refuses posts never
holds back or repeats the requester's messages and files, and a message Slack stored while
its answer was lost is not posted again."""

from __future__ import annotations

from collections.abc import Callable

from support.app_fixtures import ADMIN, ALICE, Running
from support.ca_flow import latest_link, load_order
from support.journeys import complete_and_submit, register
from support.outbox import drain, pending, rows

from bot.orders.announcements import deliver_owed
from bot.orders.polling import poll_order
from bot.orders.sender import REFUSED_TRIES


def journey_to_issued(desk: Running, ref: str) -> None:
    """Submit ``ref``, let the simulated CA review it, follow its link, and poll to issuance."""
    order_id = int(ref[3:])
    complete_and_submit(desk, ALICE, ref)
    desk.settle()
    services = desk.services
    poll_order(services, order_id)
    ca_ref = load_order(services, order_id).ca_ref
    assert ca_ref and load_order(services, order_id).state == "awaiting_verification"
    assert services.ca.confirm(latest_link(services, ca_ref).rsplit("/", 1)[-1])[0]  # type: ignore[attr-defined]
    poll_order(services, order_id)
    desk.settle()
    assert load_order(services, order_id).state == "issued"


def dms_saying(desk: Running, user: str, words: str) -> list:
    return [m for m in desk.emulator.dms_to(user) if words in m.text]


def files_named(desk: Running, suffix: str) -> list:
    return [f for f in desk.emulator.files if f.filename.endswith(suffix) and f.uploaded]


def test_a_refusing_notify_channel_holds_back_and_repeats_nothing(
    start_certdesk: Callable[..., Running], record_property: Callable[[str, object], None]
) -> None:
    # The bot was never invited: every post to the channel is refused (not_in_channel).
    desk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s", CERTDESK_NOTIFY_CHANNEL="CNOTINVITED")
    desk.emulator.add_channel("CNOTINVITED", members=[ALICE], bot_invited=False)
    ref = register(desk, ALICE)
    journey_to_issued(desk, ref)
    desk.settle()
    # The requester's DMs and files went at once; only the channel's lines are owed.
    assert {r.medium for r in pending(desk.services)} == {"channel"}
    drain(desk.services)  # each line is tried a few times, then given up
    desk.settle()
    assert len(dms_saying(desk, ALICE, "is registered")) == 1
    assert len(dms_saying(desk, ALICE, "was submitted to the CA")) == 1
    assert len(dms_saying(desk, ALICE, "is issued")) == 1
    assert len(files_named(desk, f"{ref.lower()}.csr.pem")) == 1
    assert len(files_named(desk, f"{ref.lower()}.fullchain.pem")) == 1
    lines = [r for r in rows(desk.services) if r.medium == "channel"]
    assert [r.what for r in lines] == ["submitted", "passed_review", "issued"]
    assert all(r.status == "given_up" and r.last_error == "not_in_channel" for r in lines)
    assert all(r.attempts == REFUSED_TRIES for r in lines), "a bounded number of tries"
    refused = [c for c in desk.emulator.calls_to("chat.postMessage") if not c.ok]
    assert len(refused) == len(lines) * REFUSED_TRIES
    told = dms_saying(desk, ADMIN, "cannot post to the notify channel")
    assert len(told) == 1 and "CNOTINVITED" in told[0].text
    assert desk.emulator.messages("CNOTINVITED") == []
    summary = (
        f"refusing channel: {len(rows(desk.services))} deliveries, {len(lines)} channel lines "
        f"given up after {REFUSED_TRIES} tries each, requester's DMs and files once each, "
        f"admins told {len(told)} time"
    )
    record_property("summary", summary)


def test_a_message_slack_stored_while_its_answer_was_lost_is_not_posted_again(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    ref = register(desk, ALICE)
    desk.services.notifier.dm_channel(ALICE)  # so only the post meets the lost answer
    desk.emulator.lose_answer_next("chat.postMessage")
    complete_and_submit(desk, ALICE, ref)
    desk.settle()
    (owed,) = pending(desk.services)
    assert owed.what == "submitted" and owed.in_doubt, "owed, and maybe in Slack already"
    assert len(dms_saying(desk, ALICE, "was submitted to the CA")) == 1  # Slack has it
    # The file is not held back by the message's lost answer.
    assert len(files_named(desk, f"{ref.lower()}.csr.pem")) == 1
    assert owed.due_at is not None
    assert deliver_owed(desk.services, now=owed.due_at) == 1
    assert len(dms_saying(desk, ALICE, "was submitted to the CA")) == 1, "posted twice"
    assert len(files_named(desk, f"{ref.lower()}.csr.pem")) == 1
    history = desk.emulator.calls_to("conversations.history")
    assert history, "the sweep looked for the message before posting it again"
    assert pending(desk.services) == []
