"""Who hears what (bot.orders.telling), owed through the outbox, with the fake notifier."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event
from support.ca_flow import submitted_order
from support.fakes import FakeDesk
from support.outbox import pending, rows, tell

from bot import events
from bot.errors import SlackError
from bot.orders.announcements import deliver_owed
from bot.orders.telling import owe_people, tell_person
from bot.orders.watchers import set_watchers, tell_watchers
from storage import queries
from storage.models import utcnow

ALICE, BOB, CAROL = "UALICE", "UBOB", "UCAROL"
TEAM_CHANNEL = "CTEAM"


def watched_order(desk: FakeDesk, *watchers: str) -> int:
    """An order with watchers, who got their welcome DMs (then forgotten by the notifier)."""
    order_id = submitted_order(desk.services, ALICE, send=False)
    change = set_watchers(desk.services, order_id, user_id=ALICE, wanted=list(watchers))
    tell_watchers(desk.services, change)
    assert all(len(desk.notifier.dms_to(w)) == 1 for w in watchers), "welcomed"
    desk.notifier.forget()
    return order_id


def failed(order_id: int) -> events.Failed:
    return events.Failed(ref=f"CD-{order_id:04d}", order_id=order_id, reason="the CSR is weak")


def test_requester_watchers_and_homes_hear_of_an_event(fake_desk: FakeDesk) -> None:
    order_id = watched_order(fake_desk, BOB, CAROL)
    assert tell(fake_desk.services, order_id, failed(order_id))
    notifier = fake_desk.notifier
    (mine,) = notifier.dms_to(ALICE)
    assert "failed: the CSR is weak" in mine.text and mine.blocks, "the requester gets buttons"
    for watcher in (BOB, CAROL):
        (theirs,) = notifier.dms_to(watcher)
        assert theirs.text.startswith("(You watch this order.)") and not theirs.blocks
    assert set(notifier.homes) == {ALICE, BOB, CAROL}
    assert notifier.posted and all(p.channel.startswith("D") for p in notifier.posted)
    owed = [r for r in rows(fake_desk.services, order_id) if r.what == "failed"]
    assert [(r.medium, r.user_id, r.status) for r in owed] == [
        ("dm", u, "sent") for u in (ALICE, BOB, CAROL)
    ]
    assert {p.tag.kind for p in notifier.posted if p.tag} == {"delivery"}


def test_a_watcher_who_cannot_be_dmed_does_not_stop_the_others(fake_desk: FakeDesk) -> None:
    order_id = watched_order(fake_desk, BOB, CAROL)
    fake_desk.notifier.fail_next("dm", to=BOB, code="user_not_found")
    tell(fake_desk.services, order_id, failed(order_id))
    assert len(fake_desk.notifier.dms_to(ALICE)) == 1
    assert fake_desk.notifier.dms_to(BOB) == []
    assert len(fake_desk.notifier.dms_to(CAROL)) == 1, "the watcher after the failed one too"


def test_the_requesters_message_failing_is_owed_and_sent_by_the_sweep(fake_desk: FakeDesk) -> None:
    services = fake_desk.services
    order_id = watched_order(fake_desk, BOB)
    fake_desk.notifier.fail_next("dm", to=ALICE, retryable=True)
    assert not tell(services, order_id, failed(order_id)), "owed"
    assert fake_desk.notifier.dms_to(ALICE) == []
    assert len(fake_desk.notifier.dms_to(BOB)) == 1, "the watcher is not held back"
    (owed,) = pending(services)
    assert owed.user_id == ALICE and owed.attempts == 1 and owed.due_at is not None
    assert deliver_owed(services, now=owed.due_at - timedelta(seconds=1)) == 0, "not yet due"
    assert deliver_owed(services, now=owed.due_at) == 1
    assert len(fake_desk.notifier.dms_to(ALICE)) == 1
    assert deliver_owed(services, now=utcnow() + timedelta(days=1)) == 0
    assert len(fake_desk.notifier.dms_to(ALICE)) == 1 and len(fake_desk.notifier.dms_to(BOB)) == 1


def test_a_home_that_cannot_be_published_fails_nobody(fake_desk: FakeDesk) -> None:
    order_id = watched_order(fake_desk, BOB)
    fake_desk.notifier.fail_next("publish_home", to=ALICE, retryable=True)
    tell(fake_desk.services, order_id, failed(order_id))
    assert len(fake_desk.notifier.dms_to(ALICE)) == 1
    assert ALICE not in fake_desk.notifier.homes and BOB in fake_desk.notifier.homes


def test_the_channel_line_is_posted_only_when_a_notify_channel_is_set(
    make_fake_desk: Callable[..., FakeDesk],
) -> None:
    quiet, loud = make_fake_desk(), make_fake_desk(CERTDESK_NOTIFY_CHANNEL=TEAM_CHANNEL)
    for desk in (quiet, loud):
        order_id = watched_order(desk)
        tell(desk.services, order_id, failed(order_id))
        passed = events.PassedReview(ref="CD-0001", mailboxes=["a@b.example"])
        tell(desk.services, order_id, passed, channel_only=True)
    assert [p.channel for p in quiet.notifier.posted] == [quiet.notifier.dm_channel_of(ALICE)]
    lines = [m.text for m in loud.notifier.posts_in(TEAM_CHANNEL)]
    assert lines == [
        "CD-0001 failed review: the CSR is weak",
        "CD-0001 passed review and is waiting for domain verification (the CA emailed "
        "a@b.example).",
    ]


def test_an_event_without_a_channel_line_posts_nothing_there(
    make_fake_desk: Callable[..., FakeDesk],
) -> None:
    desk = make_fake_desk(CERTDESK_NOTIFY_CHANNEL=TEAM_CHANNEL)
    order_id = watched_order(desk, BOB)
    event = events.WatcherRemoved(ref=f"CD-{order_id:04d}", actor=ALICE)
    tell(desk.services, order_id, event)
    assert desk.notifier.posts_in(TEAM_CHANNEL) == []
    assert len(desk.notifier.dms_to(ALICE)) == 1


def test_telling_one_person_directly_raises_what_slack_refused(fake_desk: FakeDesk) -> None:
    event = events.WatcherAdded(ref="CD-0001", actor=ALICE, owner=ALICE)
    fake_desk.notifier.fail_next("dm", to=BOB, code="user_not_found")
    with pytest.raises(SlackError) as caught:
        tell_person(fake_desk.services, BOB, event)
    assert caught.value.code == "user_not_found"
    tell_person(fake_desk.services, BOB, event)
    assert len(fake_desk.notifier.dms_to(BOB)) == 1


def test_a_channel_post_that_fails_holds_back_nobody(
    make_fake_desk: Callable[..., FakeDesk],
) -> None:
    desk = make_fake_desk(CERTDESK_NOTIFY_CHANNEL=TEAM_CHANNEL)
    order_id = watched_order(desk, BOB)
    desk.notifier.fail_next("post", to=TEAM_CHANNEL, code="not_in_channel")
    assert not tell(desk.services, order_id, failed(order_id)), "the channel line is owed"
    assert len(desk.notifier.dms_to(ALICE)) == 1 and len(desk.notifier.dms_to(BOB)) == 1
    assert desk.notifier.posts_in(TEAM_CHANNEL) == []
    assert set(desk.notifier.homes) == {ALICE, BOB}, "Homes are refreshed all the same"
    assert deliver_owed(desk.services, now=utcnow() + timedelta(hours=1)) == 1
    assert len(desk.notifier.posts_in(TEAM_CHANNEL)) == 1, "invited meanwhile: it arrives"
    assert len(desk.notifier.dms_to(ALICE)) == 1, "nothing else is sent again"


def test_a_watchers_welcome_waits_out_an_outage(fake_desk: FakeDesk) -> None:
    """Owed with the change: a Slack outage delays the new watcher's DM, never loses it."""
    services = fake_desk.services
    order_id = submitted_order(services, ALICE, send=False)
    fake_desk.notifier.fail_next("dm", to=BOB, retryable=True)
    tell_watchers(services, set_watchers(services, order_id, user_id=ALICE, wanted=[BOB]))
    assert fake_desk.notifier.dms_to(BOB) == []
    assert deliver_owed(services, now=utcnow() + timedelta(hours=1)) == 1
    (welcome,) = fake_desk.notifier.dms_to(BOB)
    assert "added you as a watcher" in welcome.text


def test_owing_a_change_reads_the_workspace_channel_in_the_changes_own_transaction(
    fake_desk: FakeDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With many workspaces the channel is the workspace's own setting: read on the change's
    connection, not a second one taken from the pool while the change holds its first."""
    services = fake_desk.services
    order_id = submitted_order(services, "UALICE", send=False)
    monkeypatch.setattr(
        services,
        "settings",
        replace(services.settings, slack_client_id="client", slack_client_secret="secret"),
    )
    held = {"now": 0, "most": 0}

    def out(*_: object) -> None:
        held["now"] += 1
        held["most"] = max(held["most"], held["now"])

    def back(*_: object) -> None:
        held["now"] -= 1

    event.listen(services.engine, "checkout", out)
    event.listen(services.engine, "checkin", back)
    try:
        with services.sessions.begin() as session:
            order = queries.get_order(session, order_id)
            held["most"] = held["now"]
            owe_people(session, services, order, failed(order_id), now=utcnow())
    finally:
        event.remove(services.engine, "checkout", out)
        event.remove(services.engine, "checkin", back)
    assert services.settings.oauth and held["most"] == 1
