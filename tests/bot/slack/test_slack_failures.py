"""The Slack adapter keeps the Notifier port's promise: Slack's failures arrive as SlackError,
retryable and maybe-delivered exactly as the use cases (and the fake notifier) assume."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from support.app_fixtures import ALICE, TOKEN

from bot.devtools.ports import free_port
from bot.emulator import Emulator
from bot.errors import SlackError
from bot.ports import Message, Tag
from bot.slack import SlackNotifier
from storage import db

HELLO = Message("hello")


@pytest.fixture
def notifier(emulator: Emulator, tmp_path: Path) -> Iterator[SlackNotifier]:
    """The adapter on a client without retry handlers, so each failure shows at once."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'n.sqlite3'}")
    db.upgrade(engine)
    client = WebClient(token=TOKEN, base_url=emulator.api_url, retry_handlers=[])
    yield SlackNotifier(client, db.session_factory(engine))
    engine.dispose()


def test_a_server_error_is_retryable_and_may_have_been_delivered(
    emulator: Emulator, notifier: SlackNotifier
) -> None:
    channel = notifier.dm_channel(ALICE)
    emulator.fail_next("chat.postMessage", status=500)
    with pytest.raises(SlackError) as caught:
        notifier.post(channel, HELLO)
    assert (caught.value.retryable, caught.value.maybe_delivered) == (True, True)
    assert notifier.post(channel, HELLO), "the same call works once Slack is back"


def test_a_rate_limit_is_retryable_not_delivered_and_says_when(
    emulator: Emulator, notifier: SlackNotifier
) -> None:
    channel = notifier.dm_channel(ALICE)
    emulator.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackError) as caught:
        notifier.post(channel, HELLO, tag=Tag("reminder", 1))
    assert (caught.value.retryable, caught.value.maybe_delivered) == (True, False)
    assert caught.value.retry_after == 7
    assert notifier.find_tagged(channel, Tag("reminder", 1)) is None


def test_an_error_answer_is_permanent_and_keeps_slacks_code(notifier: SlackNotifier) -> None:
    with pytest.raises(SlackError) as caught:
        notifier.dm("UNOBODY", HELLO)
    assert caught.value.code == "user_not_found"
    assert (caught.value.retryable, caught.value.maybe_delivered) == (False, False)


def test_slack_out_of_reach_is_retryable_and_may_have_been_delivered(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'n.sqlite3'}")
    db.upgrade(engine)
    nowhere = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    client = WebClient(token=TOKEN, base_url=nowhere, timeout=2, retry_handlers=[])
    try:
        with pytest.raises(SlackError) as caught:
            SlackNotifier(client, db.session_factory(engine)).post("C1", HELLO)
    finally:
        engine.dispose()
    assert (caught.value.retryable, caught.value.maybe_delivered) == (True, True)
