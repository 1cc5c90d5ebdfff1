"""Who hears what (bot.orders.telling), with the fake notifier: no Slack, no HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.ca_flow import submitted_order
from support.fakes import FakeDesk

from bot import events
from bot.errors import SlackError
from bot.orders.telling import tell_channel, tell_people, tell_person
from bot.orders.watchers import set_watchers

ALICE, BOB, CAROL = "UALICE", "UBOB", "UCAROL"
TEAM_CHANNEL = "CTEAM"


def watched_order(desk: FakeDesk, *watchers: str) -> int:
    order_id = submitted_order(desk.services, ALICE, send=False)
    set_watchers(desk.services, order_id, user_id=ALICE, wanted=list(watchers))
    return order_id


def failed(order_id: int) -> events.Failed:
    return events.Failed(ref=f"CD-{order_id:04d}", order_id=order_id, reason="the CSR is weak")


def test_requester_watchers_and_homes_hear_of_an_event(fake_desk: FakeDesk) -> None:
    order_id = watched_order(fake_desk, BOB, CAROL)
    tell_people(fake_desk.services, order_id, failed(order_id))
    notifier = fake_desk.notifier
    (mine,) = notifier.dms_to(ALICE)
    assert "failed: the CSR is weak" in mine.text and mine.blocks, "the requester gets buttons"
    for watcher in (BOB, CAROL):
        (theirs,) = notifier.dms_to(watcher)
        assert theirs.text.startswith("(You watch this order.)") and not theirs.blocks
    assert set(notifier.homes) == {ALICE, BOB, CAROL}
    assert notifier.posted and all(p.channel.startswith("D") for p in notifier.posted)


def test_a_watcher_who_cannot_be_dmed_does_not_stop_the_others(fake_desk: FakeDesk) -> None:
    order_id = watched_order(fake_desk, BOB, CAROL)
    fake_desk.notifier.fail_next("dm", to=BOB, code="user_not_found")
    tell_people(fake_desk.services, order_id, failed(order_id))
    assert len(fake_desk.notifier.dms_to(ALICE)) == 1
    assert fake_desk.notifier.dms_to(BOB) == []
    assert len(fake_desk.notifier.dms_to(CAROL)) == 1, "the watcher after the failed one too"


def test_the_requesters_message_failing_is_raised_so_it_can_be_owed(fake_desk: FakeDesk) -> None:
    order_id = watched_order(fake_desk, BOB)
    fake_desk.notifier.fail_next("dm", to=ALICE, retryable=True)
    with pytest.raises(SlackError) as caught:
        tell_people(fake_desk.services, order_id, failed(order_id))
    assert caught.value.retryable
    assert fake_desk.notifier.dms_to(ALICE) == []


def test_a_home_that_cannot_be_published_fails_nobody(fake_desk: FakeDesk) -> None:
    order_id = watched_order(fake_desk, BOB)
    fake_desk.notifier.fail_next("publish_home", to=ALICE, retryable=True)
    tell_people(fake_desk.services, order_id, failed(order_id))
    assert len(fake_desk.notifier.dms_to(ALICE)) == 1
    assert ALICE not in fake_desk.notifier.homes and BOB in fake_desk.notifier.homes


def test_the_channel_line_is_posted_only_when_a_notify_channel_is_set(
    make_fake_desk: Callable[..., FakeDesk],
) -> None:
    quiet, loud = make_fake_desk(), make_fake_desk(CERTDESK_NOTIFY_CHANNEL=TEAM_CHANNEL)
    for desk in (quiet, loud):
        order_id = watched_order(desk)
        tell_people(desk.services, order_id, failed(order_id))
        tell_channel(desk.services, events.PassedReview(ref="CD-0001", mailboxes=["a@b.example"]))
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
    tell_people(desk.services, order_id, event)
    assert desk.notifier.posts_in(TEAM_CHANNEL) == []
    assert len(desk.notifier.dms_to(ALICE)) == 1


def test_telling_one_person_raises_only_when_required(fake_desk: FakeDesk) -> None:
    event = events.WatcherAdded(ref="CD-0001", actor=ALICE, owner=ALICE)
    fake_desk.notifier.fail_next("dm", to=BOB, code="user_not_found", times=2)
    tell_person(fake_desk.services, BOB, event, required=False)
    with pytest.raises(SlackError) as caught:
        tell_person(fake_desk.services, BOB, event)
    assert caught.value.code == "user_not_found"
    tell_person(fake_desk.services, BOB, event)
    assert len(fake_desk.notifier.dms_to(BOB)) == 1


def test_a_channel_post_that_fails_is_logged_not_raised(
    make_fake_desk: Callable[..., FakeDesk],
) -> None:
    desk = make_fake_desk(CERTDESK_NOTIFY_CHANNEL=TEAM_CHANNEL)
    order_id = watched_order(desk, BOB)
    desk.notifier.fail_next("post", to=TEAM_CHANNEL, code="not_in_channel", times=2)
    tell_people(desk.services, order_id, failed(order_id))
    tell_channel(desk.services, events.PassedReview(ref="CD-0001", mailboxes=[]))
    assert len(desk.notifier.dms_to(ALICE)) == 1 and len(desk.notifier.dms_to(BOB)) == 1
    assert desk.notifier.posts_in(TEAM_CHANNEL) == []
    assert set(desk.notifier.homes) == {ALICE, BOB}, "Homes are refreshed all the same"
