"""Events worded for people (bot.views.messages): every event has words, each audience its own."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from support.csrs import issue, key_pem

from bot import crypto, events
from bot.ports import Message
from bot.views import ids
from bot.views.messages import WATCHING, Messages, word

_DATACLASSES = [
    cls
    for _, cls in inspect.getmembers(events, inspect.isclass)
    if cls.__module__ == events.__name__ and dataclasses.is_dataclass(cls)
]
#: Values carried inside events (an approval request's Application), never told on their own.
_PARTS = {
    cls
    for cls in _DATACLASSES
    for other in _DATACLASSES
    for f in dataclasses.fields(other)
    if re.search(rf"\b{cls.__name__}\b", str(f.type))
}
EVENTS = [cls for cls in _DATACLASSES if cls not in _PARTS]


def action_ids(message: Message) -> list[str]:
    return [
        element["action_id"]
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def test_the_events_are_found() -> None:
    assert {events.Submitted, events.Issued, events.VerificationReminder} <= set(EVENTS)
    assert events.Application in _PARTS and events.Application not in EVENTS


@pytest.mark.parametrize("event_class", EVENTS, ids=lambda cls: cls.__name__)
def test_every_event_has_words(event_class: type) -> None:
    assert word.dispatch(event_class) is not word.dispatch(object), event_class.__name__


def test_something_that_is_no_event_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="no words for str"):
        Messages().notice("issued")


def test_a_failure_gives_the_requester_buttons_watchers_plain_words_the_channel_a_line() -> None:
    notice = Messages().notice(events.Failed(ref="CD-0042", order_id=42, reason="weak key"))
    assert notice.main.text == "CD-0042 failed: weak key"
    assert action_ids(notice.main) == [ids.REVISE, ids.SHOW_STATUS]
    assert notice.watchers is not None and notice.watchers.blocks == ()
    assert notice.watchers.text == WATCHING + notice.main.text
    assert notice.channel is not None and notice.channel.text == "CD-0042 failed review: weak key"


@pytest.mark.parametrize(("by_email", "words"), [(True, "Watch a@example.com"), (False, "publish")])
def test_a_submission_says_where_verification_will_come_from(by_email: bool, words: str) -> None:
    event = events.Submitted(ref="CD-0001", order_id=1, mailbox="a@example.com", by_email=by_email)
    notice = Messages().notice(event)
    assert words in notice.main.text
    assert ("a@example.com" in notice.main.text) is by_email


@pytest.mark.parametrize("offer_key", [True, False])
def test_an_issuance_offers_the_key_only_when_certdesk_holds_it(offer_key: bool) -> None:
    chain, _ = issue(key_pem(ec.generate_private_key(ec.SECP256R1())), ["example.com"])
    info = crypto.describe_certificate(chain)
    event = events.Issued(ref="CD-0007", order_id=7, info=info, offer_key=offer_key)
    notice = Messages().notice(event)
    assert (ids.DOWNLOAD_KEY in action_ids(notice.main)) is offer_key
    assert info.sha256_fingerprint in notice.main.text
    assert notice.channel is not None
    assert info.sha256_fingerprint not in notice.channel.text
    assert notice.channel.text == f"CD-0007 was issued; valid until {info.not_after:%Y-%m-%d} UTC."


def test_a_cancellation_by_someone_else_names_them() -> None:
    notice = Messages().notice(
        events.Cancelled(ref="CD-0003", owner="UALICE", actor="UADMIN", at_ca=True)
    )
    assert "cancelled by <@UADMIN> and withdrawn at the CA" in notice.main.text
    own = Messages().notice(
        events.Cancelled(ref="CD-0003", owner="UALICE", actor="UALICE", at_ca=False)
    )
    assert "cancelled by you." in own.main.text


def test_an_empty_home_invites_a_new_order() -> None:
    view = Messages().home([], user_id="UALICE", admin=False)
    assert view["type"] == "home"
    assert "You have no certificate orders yet" in str(view["blocks"])
