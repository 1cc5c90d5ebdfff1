"""Slack answering half of all calls with 429/500/503 (and losing some answers after acting)
across six journeys: every DM, channel notice and file arrives exactly once.

The journeys run through the use cases as the handlers and jobs call them, with certdesk's
real Slack clients talking HTTP to the emulator in its seeded chaos mode; then the outbox
sweep runs until nothing is owed, and the emulator's record is counted per conversation:
each delivery's tagged message (message metadata) once, each file by name once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from slack_sdk.http_retry import RateLimitErrorRetryHandler, RetryState
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from support.app_fixtures import ADMIN, ALICE, BOB, CAROL, NOTIFY, TEAM, Running
from support.ca_flow import application, latest_link, load_order
from support.forms import GOOD_ORG
from support.outbox import drain, rows

from bot.orders import approval, complete
from bot.orders.announcements import announce
from bot.orders.cancel import cancel_and_tell
from bot.orders.polling import poll_order
from bot.orders.register import register_order
from bot.orders.renewal import expire_due
from bot.orders.revocation import revoke_and_tell
from bot.orders.submission import send_to_ca
from bot.products import Purchase
from storage.models import Delivery

SEED = 15
RATE, LOSE = 0.5, 0.1
#: Every Web API method a delivery uses. (Home tabs and time zones are refreshed best effort
#: and not deliveries; faulting them too would only add slack_sdk's retry sleeps.)
DELIVERY_METHODS = (
    "chat.postMessage",
    "conversations.open",
    "conversations.history",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
)


def registered(desk: Running, user: str, *, product: str = "dv", count: int = 2) -> int:
    """Register an order as the new-order modal does (its DM owed, then sent)."""
    services = desk.services
    purchase = Purchase(product=product, domain_type="multi", domain_count=count, validity_days=90)
    order = register_order(services, team_id=TEAM, user_id=user, purchase=purchase)
    announce(services, order.id)
    return order.id


def submitted(desk: Running, user: str, domains: tuple[str, ...], *, ov: bool = False) -> int:
    order_id = registered(desk, user, product="ov" if ov else "dv", count=len(domains))
    raw = application(domains) | (GOOD_ORG if ov else {})
    complete.check_and_save(desk.services, order_id, user_id=user, raw=raw)
    complete.submit(desk.services, order_id, user_id=user)
    return order_id


def at_ca(desk: Running, order_id: int) -> None:
    """Sent to the CA, reviewed (no delay) and waiting for verification."""
    assert send_to_ca(desk.services, order_id)
    poll_order(desk.services, order_id)


def issued(desk: Running, order_id: int) -> None:
    services = desk.services
    ca_ref = load_order(services, order_id).ca_ref
    assert ca_ref and load_order(services, order_id).state == "awaiting_verification"
    assert services.ca.confirm(latest_link(services, ca_ref).rsplit("/", 1)[-1])[0]  # type: ignore[attr-defined]
    poll_order(services, order_id)
    assert load_order(services, order_id).state == "issued"


def dv_issued(desk: Running) -> int:
    order_id = submitted(desk, ALICE, ("one.example.com", "www.one.example.com"))
    at_ca(desk, order_id)
    issued(desk, order_id)
    return order_id


def ov_rejected_then_issued(desk: Running) -> int:
    services = desk.services
    order_id = submitted(desk, BOB, ("two.example.com",), ov=True)
    approval.ask_approvers(services, order_id)
    no = approval.reject(services, order_id, user_id=CAROL, reason="Use the legal name.")
    approval.after_decision(services, no)
    complete.submit(services, order_id, user_id=BOB)  # revised and asked again
    approval.ask_approvers(services, order_id)
    yes = approval.approve(services, order_id, user_id=CAROL)
    approval.after_decision(services, yes)  # approved: on to the CA
    poll_order(services, order_id)
    issued(desk, order_id)
    return order_id


def ca_failure(desk: Running) -> int:
    order_id = submitted(desk, CAROL, ("reject-three.example.com",))
    at_ca(desk, order_id)
    assert load_order(desk.services, order_id).state == "failed"
    return order_id


def cancelled_by_admin(desk: Running) -> int:
    order_id = submitted(desk, ALICE, ("four.example.com",))
    assert send_to_ca(desk.services, order_id)
    cancel_and_tell(desk.services, order_id, user_id=ADMIN)
    return order_id


def revoked(desk: Running) -> int:
    order_id = submitted(desk, BOB, ("five.example.com",))
    at_ca(desk, order_id)
    issued(desk, order_id)
    revoke_and_tell(desk.services, order_id, user_id=BOB, reason=4)
    return order_id


def expired(desk: Running) -> int:
    order_id = submitted(desk, CAROL, ("six.example.com",))
    at_ca(desk, order_id)
    issued(desk, order_id)
    not_after = load_order(desk.services, order_id).not_after
    assert not_after is not None
    # The sweep expires every certificate issued so far (the first two journeys' too).
    assert expire_due(desk.services, now=not_after + timedelta(seconds=1)) == 3
    return order_id


JOURNEYS: dict[str, Callable[[Running], int]] = {
    "DV issued": dv_issued,
    "OV rejected, then issued": ov_rejected_then_issued,
    "CA failure": ca_failure,
    "cancelled by an admin": cancelled_by_admin,
    "revoked": revoked,
    "expired": expired,
}

_SUBMITTED = [("dm", "submitted"), ("channel", "submitted"), ("file", "csr")]
_ISSUED = [("dm", "issued"), ("channel", "issued"), ("file", "chain")]
_START = [("dm", "registered"), *_SUBMITTED, ("channel", "passed_review")]
_EXPIRED = [("dm", "expired"), ("channel", "expired")]
#: What each journey owes, by (medium, what): the requester's DMs and files, channel lines.
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "DV issued": [*_START, *_ISSUED, *_EXPIRED],
    "OV rejected, then issued": [
        ("dm", "registered"),
        ("dm", "awaiting_approval"),
        ("channel", "awaiting_approval"),
        ("dm", "approval_asked"),  # to Carol, the approver
        ("dm", "rejected"),
        ("channel", "rejected"),
        ("dm", "awaiting_approval"),
        ("channel", "awaiting_approval"),
        ("dm", "approval_asked"),  # asked again after the revision
        ("dm", "approved"),
        ("channel", "approved"),
        *_SUBMITTED,
        ("channel", "passed_review"),
        *_ISSUED,
        *_EXPIRED,
    ],
    "CA failure": [*_SUBMITTED, ("dm", "registered"), ("dm", "failed"), ("channel", "failed")],
    "cancelled by an admin": [
        *_SUBMITTED,
        ("dm", "registered"),
        ("dm", "cancelled"),
        ("channel", "cancelled"),
        ("dm", "cancel_done"),
    ],
    "revoked": [*_START, *_ISSUED, ("dm", "revoked"), ("channel", "revoked")],
    "expired": [*_START, *_ISSUED, *_EXPIRED],
}


@pytest.fixture
def retries_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack-sdk's handlers retry as many times as configured, without sleeping between tries:
    the test is about what reaches Slack, and the library's 0.5-1.5 s a retry made it ~100 s."""

    def at_once(
        self: RateLimitErrorRetryHandler,
        *,
        state: RetryState,
        request: object,
        response: object = None,
        error: Exception | None = None,
    ) -> None:
        if response is None and error is not None:
            raise error  # as the library does
        state.next_attempt_requested = True
        state.increment_current_attempt()

    monkeypatch.setattr(BackoffRetryIntervalCalculator, "calculate_sleep_duration", _no_wait)
    monkeypatch.setattr(RateLimitErrorRetryHandler, "prepare_for_next_attempt", at_once)


def _no_wait(_self: BackoffRetryIntervalCalculator, _attempt: int) -> float:
    return 0.0


@pytest.fixture
def desk(start_certdesk: Callable[..., Running]) -> Running:
    running = start_certdesk(
        CERTDESK_NOTIFY_CHANNEL=NOTIFY,
        CERTDESK_SIM_REVIEW_DELAY="0s",
        CERTDESK_APPROVAL="ov,ev",
        CERTDESK_APPROVERS=CAROL,
    )
    running.emulator.add_channel(NOTIFY)
    return running


def test_half_of_slack_failing_loses_and_repeats_nothing_across_six_journeys(
    desk: Running, retries_at_once: None, record_property: Callable[[str, object], None]
) -> None:
    emulator, services = desk.emulator, desk.services
    calls_before = len(emulator.calls)
    chaos = emulator.fail_at_random(RATE, lose=LOSE, seed=SEED, methods=DELIVERY_METHODS)
    orders = {name: journey(desk) for name, journey in JOURNEYS.items()}
    desk.settle()
    sweeps = drain(services)
    emulator.stop_failing_at_random()
    calls = [c for c in emulator.calls[calls_before:] if c.method in DELIVERY_METHODS]

    owed = rows(services)
    for name, order_id in orders.items():
        got = sorted((r.medium, r.what) for r in owed if r.order_id == order_id)
        assert got == sorted(EXPECTED[name]), (name, got)
    # Only an approver's request may be dropped: its request was decided before Slack let it
    # through (the rejection came first), and a stale request must not reach the approver.
    dropped = [r for r in owed if r.status != "sent"]
    assert all((r.what, r.last_error) == ("approval_asked", "no longer wanted") for r in dropped)
    sent = [r for r in owed if r.status == "sent"]
    counts = _delivered_counts(desk, sent)
    assert counts == {r.id: 1 for r in sent}, "every delivery exactly once"
    stray = _tagged_ids(desk) - {r.id for r in sent}
    assert not stray, f"tagged messages no row owes: {stray}"
    assert _out_of_order(desk, sent) == [], "each person heard of each order in order"

    injected = sum(chaos.injected.values())
    retries = sum(r.attempts - 1 for r in owed)
    summary = (
        f"slack faults: {len(JOURNEYS)} journeys, {len(owed)} deliveries "
        f"({dict(Counter(r.medium for r in owed))}), {len(calls)} delivery calls to Slack, "
        f"{injected} faults "
        f"injected ({_by_status(chaos.injected)}), {retries} delivery retries "
        f"(most attempts on one: {max(r.attempts for r in owed)}), {sweeps} sweeps; "
        f"lost 0, doubled 0, {len(dropped)} approval request(s) dropped as decided before sent"
    )
    print(summary)
    record_property("summary", summary)  # printed at the end of the run (tests/conftest.py)
    assert injected > len(owed), "the faults really hit"


def _delivered_counts(desk: Running, owed: list[Delivery]) -> dict[int, int]:
    """For each row: its tagged messages in its conversation, or its files by name there."""
    emulator, counts = desk.emulator, {}
    for row in owed:
        assert row.channel_id, f"row {row.id} knows where it went"
        if row.medium == "file":
            name = row.payload["filename"]
            counts[row.id] = len(
                [
                    f
                    for f in emulator.files
                    if f.filename == name and f.uploaded and row.channel_id in f.channels
                ]
            )
        else:
            counts[row.id] = len(
                [m for m in emulator.messages(row.channel_id) if _tag(m) == row.id]
            )
    return counts


def _out_of_order(desk: Running, sent: list[Delivery]) -> list[tuple[str, int]]:
    """(conversation, order) pairs whose messages arrived in another order than owed."""
    order_of = {r.id: r.order_id for r in sent}
    arrived: dict[tuple[str, int], list[int]] = {}
    for message in desk.emulator.messages():  # in the order Slack stored them
        tag = _tag(message)
        if tag in order_of and order_of[tag] is not None:
            arrived.setdefault((message.channel, order_of[tag]), []).append(tag)
    return [key for key, ids in arrived.items() if ids != sorted(ids)]


def _tagged_ids(desk: Running) -> set[int]:
    return {t for m in desk.emulator.messages() if (t := _tag(m)) is not None}


def _tag(message: object) -> int | None:
    metadata = getattr(message, "metadata", None) or {}
    payload = metadata.get("event_payload") or {}
    found = payload.get("delivery_id")
    return found if isinstance(found, int) else None


def _by_status(injected: Counter[str]) -> str:
    by: Counter[str] = Counter()
    for key, n in injected.items():
        by[key.rsplit(" ", 1)[1]] += n
    return ", ".join(f"{k}: {v}" for k, v in sorted(by.items()))
