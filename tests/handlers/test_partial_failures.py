"""Partial Slack failures lose and repeat nothing: a notify channel that refuses posts never
holds back or repeats the requester's messages and files, and a message Slack stored while
its answer was lost is not posted again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from support.app_fixtures import ADMIN, ALICE, Running, wait_for
from support.ca_flow import latest_link, load_order
from test_commands import register
from test_complete import complete_and_submit

from bot.orders.announcements import deliver_owed
from bot.orders.polling import poll_order
from storage.models import utcnow


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
    start_certdesk: Callable[..., Running],
) -> None:
    # The bot was never invited: every post to the channel is refused (channel_not_found).
    desk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s", CERTDESK_NOTIFY_CHANNEL="CNOTINVITED")
    ref = register(desk, ALICE)
    journey_to_issued(desk, ref)
    # Nothing was owed, and the sweep (were it run later) sends nothing again.
    assert deliver_owed(desk.services, now=utcnow() + timedelta(hours=1)) == 0
    desk.settle()
    assert len(dms_saying(desk, ALICE, "was submitted to the CA")) == 1
    assert len(dms_saying(desk, ALICE, "is issued")) == 1
    assert len(files_named(desk, f"{ref.lower()}.csr.pem")) == 1
    assert len(files_named(desk, f"{ref.lower()}.fullchain.pem")) == 1
    refused = [c for c in desk.emulator.calls_to("chat.postMessage") if not c.ok]
    assert len(refused) >= 3  # submitted, passed review, issued: all refused by the channel
    told = dms_saying(desk, ADMIN, "cannot post to the notify channel")
    assert len(told) == 1 and "CNOTINVITED" in told[0].text


def test_a_message_slack_stored_while_its_answer_was_lost_is_not_posted_again(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    ref = register(desk, ALICE)
    desk.services.notifier.dm_channel(ALICE)  # so only the post meets the lost answer
    desk.emulator.lose_answer_next("chat.postMessage")
    complete_and_submit(desk, ALICE, ref)
    desk.settle()
    order = load_order(desk.services, int(ref[3:]))
    assert order.delivery_due_at is not None, "the announcement is owed, not dropped"
    assert len(dms_saying(desk, ALICE, "was submitted to the CA")) == 1  # Slack has it
    assert not files_named(desk, ".csr.pem")  # the file waits for the sweep
    assert deliver_owed(desk.services, now=order.delivery_due_at) == 1
    desk.settle()
    wait_for(lambda: files_named(desk, f"{ref.lower()}.csr.pem"), what="the CSR file")
    assert len(dms_saying(desk, ALICE, "was submitted to the CA")) == 1, "posted twice"
    assert len(files_named(desk, f"{ref.lower()}.csr.pem")) == 1
    history = desk.emulator.calls_to("conversations.history")
    assert history, "the sweep looked for the message before posting it again"
