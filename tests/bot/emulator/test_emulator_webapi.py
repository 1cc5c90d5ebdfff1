"""The emulator's Web API, driven by a real slack_sdk WebClient with real retry handlers."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.emulator import Emulator

TOKEN = "xoxb-test-token"
JANUARY = datetime(2026, 1, 15, 12, 0, tzinfo=UTC).timestamp()


class Clock:
    """A clock the test moves by hand, so trigger expiry needs no sleeping."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(JANUARY)


@pytest.fixture
def emulator(clock: Clock) -> Iterator[Emulator]:
    with Emulator(clock=clock) as emulator:
        emulator.add_user("U1", name="alice", tz="America/New_York")
        emulator.add_user("U2", name="bob", tz="Europe/London", is_admin=True)
        yield emulator


def make_client(emulator: Emulator, token: str | None = TOKEN) -> WebClient:
    return WebClient(
        token=token,
        base_url=emulator.api_url,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=1),
            ServerErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            ),
        ],
    )


@pytest.fixture
def client(emulator: Emulator) -> WebClient:
    return make_client(emulator)


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


def modal(title: str = "New order", *, blocks: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            {"type": "section", "block_id": f"b{i}", "text": {"type": "mrkdwn", "text": "hi"}}
            for i in range(blocks)
        ],
        **extra,
    }


# ----- tokens and methods -----


def test_auth_test_names_the_bot(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer["user_id"] == "UBOT"
    assert answer["team_id"] == "T0001"


def test_missing_token_is_not_authed_and_wrong_token_invalid_auth(emulator: Emulator) -> None:
    assert error_of(make_client(emulator, token=None).auth_test) == "not_authed"
    assert error_of(make_client(emulator, token="xoxb-wrong").auth_test) == "invalid_auth"
    assert [c.error for c in emulator.calls_to("auth.test")] == ["not_authed", "invalid_auth"]


def test_unknown_method(client: WebClient) -> None:
    assert error_of(lambda: client.api_call("chat.scheduleTeleport")) == "unknown_method"


def test_token_may_also_come_as_a_form_field(emulator: Emulator) -> None:
    body = f"token={TOKEN}&user=U1".encode()
    request = urllib.request.Request(f"{emulator.api_url}users.info", data=body, method="POST")
    with urllib.request.urlopen(request) as answer:
        assert json.loads(answer.read())["user"]["name"] == "alice"


# ----- conversations, users -----


def test_conversations_open_gives_a_stable_dm_per_user(
    emulator: Emulator, client: WebClient
) -> None:
    first = client.conversations_open(users="U1")["channel"]["id"]
    again = client.conversations_open(users="U1")
    other = client.conversations_open(users="U2")["channel"]["id"]
    assert first.startswith("D")
    assert again["channel"]["id"] == first and again["already_open"] is True
    assert other != first
    assert emulator.dm_channel("U1") == first
    assert error_of(lambda: client.conversations_open(users="U404")) == "user_not_found"


def test_users_info_reports_time_zone(client: WebClient) -> None:
    alice = client.users_info(user="U1")["user"]
    assert alice["tz"] == "America/New_York"
    assert alice["tz_offset"] == -5 * 3600  # January: standard time
    assert alice["tz_label"] == "Eastern Standard Time"
    assert client.users_info(user="U2")["user"]["is_admin"] is True
    assert error_of(lambda: client.users_info(user="U404")) == "user_not_found"


# ----- messages -----


def test_post_message_to_a_dm_is_recorded(emulator: Emulator, client: WebClient) -> None:
    channel = client.conversations_open(users="U1")["channel"]["id"]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Order *42*"}}]
    answer = client.chat_postMessage(channel=channel, text="Order 42", blocks=blocks)
    [message] = emulator.dms_to("U1")
    assert message.ts == answer["ts"] and message.text == "Order 42"
    assert message.blocks == blocks
    assert emulator.calls_to("chat.postMessage")[0].args["blocks"] == blocks
    assert emulator.dms_to("U2") == []


def test_post_message_to_a_user_id_lands_in_their_dm(emulator: Emulator, client: WebClient) -> None:
    client.chat_postMessage(channel="U2", text="hello")
    assert [m.text for m in emulator.dms_to("U2")] == ["hello"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_errors(emulator: Emulator, client: WebClient) -> None:
    assert error_of(lambda: client.chat_postMessage(channel="C999", text="x")) == (
        "channel_not_found"
    )
    emulator.add_channel("C1")
    assert error_of(lambda: client.chat_postMessage(channel="C1")) == "no_text"
    many = [{"type": "divider"} for _ in range(51)]
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=many)) == (
        "invalid_blocks"
    )
    twice = [{"type": "divider", "block_id": "same"}, {"type": "divider", "block_id": "same"}]
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=twice)) == (
        "invalid_blocks"
    )
    client.chat_postMessage(channel="C1", text="x", blocks=many[:50])
    assert len(emulator.messages("C1")) == 1


def test_ephemeral_and_update(emulator: Emulator, client: WebClient) -> None:
    channel = emulator.dm_channel("U1")
    client.chat_postEphemeral(channel=channel, user="U1", text="only you")
    assert [m.text for m in emulator.ephemerals_to("U1")] == ["only you"]
    assert emulator.dms_to("U1") == []
    posted = client.chat_postMessage(channel=channel, text="pending")
    client.chat_update(channel=channel, ts=posted["ts"], text="issued")
    [message] = emulator.dms_to("U1")
    assert (message.text, message.edits) == ("issued", 1)
    assert error_of(lambda: client.chat_update(channel=channel, ts="1.2", text="x")) == (
        "message_not_found"
    )


def test_concurrent_posts_from_many_threads_are_all_recorded(emulator: Emulator) -> None:
    channel = emulator.dm_channel("U1")

    def post(n: int) -> None:
        make_client(emulator).chat_postMessage(channel=channel, text=f"m{n}")

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = emulator.dms_to("U1")
    assert sorted(m.text for m in messages) == sorted(f"m{n}" for n in range(20))
    assert len({m.ts for m in messages}) == 20


# ----- views -----


def test_views_open_and_trigger_rules(emulator: Emulator, client: WebClient, clock: Clock) -> None:
    trigger = emulator.new_trigger_id("U1")
    view = client.views_open(trigger_id=trigger, view=modal(callback_id="new"))["view"]
    assert emulator.current_view("U1")["id"] == view["id"]  # type: ignore[index]
    assert emulator.current_view("U1")["callback_id"] == "new"  # type: ignore[index]
    assert emulator.current_view("U2") is None
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=modal())) == (
        "exchanged_trigger_id"
    )
    assert error_of(lambda: client.views_open(trigger_id="1.2.3", view=modal())) == (
        "invalid_trigger_id"
    )
    late = emulator.new_trigger_id("U1")
    clock.now += 3.5
    assert error_of(lambda: client.views_open(trigger_id=late, view=modal())) == (
        "expired_trigger_id"
    )


@pytest.mark.parametrize(
    "view",
    [
        modal("A title of twenty-five ch"),
        modal(blocks=101),
        modal(private_metadata="x" * 3001),
        {
            **modal(),
            "submit": None,
            "blocks": [
                {
                    "type": "input",
                    "block_id": "d",
                    "label": {"type": "plain_text", "text": "D"},
                    "element": {"type": "plain_text_input"},
                }
            ],
        },
    ],
    ids=["title-25", "101-blocks", "metadata-3001", "inputs-without-submit"],
)
def test_modal_limits(emulator: Emulator, client: WebClient, view: dict[str, Any]) -> None:
    trigger = emulator.new_trigger_id("U1")
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=view)) == (
        "invalid_arguments"
    )


def test_modal_at_the_limits_is_accepted(emulator: Emulator, client: WebClient) -> None:
    view = modal("A title of twenty-four c", blocks=100, private_metadata="x" * 3000)
    client.views_open(trigger_id=emulator.new_trigger_id("U1"), view=view)
    assert len(emulator.current_view("U1")["blocks"]) == 100  # type: ignore[index]


def test_views_update_push_and_publish(emulator: Emulator, client: WebClient) -> None:
    opened = client.views_open(trigger_id=emulator.new_trigger_id("U1"), view=modal())["view"]
    assert error_of(lambda: client.views_update(view_id="V404", view=modal())) == "not_found"
    assert (
        error_of(lambda: client.views_update(view_id=opened["id"], hash="stale", view=modal()))
        == "hash_conflict"
    )
    client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Step 2"))
    assert emulator.current_view("U1")["title"]["text"] == "Step 2"  # type: ignore[index]
    for title in ("Second", "Third"):
        client.views_push(trigger_id=emulator.new_trigger_id("U1"), view=modal(title))
    assert [v["title"]["text"] for v in emulator.view_stack("U1")] == ["Step 2", "Second", "Third"]
    assert (
        error_of(
            lambda: client.views_push(trigger_id=emulator.new_trigger_id("U1"), view=modal("4th"))
        )
        == "push_limit_reached"
    )
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    client.views_publish(user_id="U2", view=home)
    assert emulator.home_view("U2")["blocks"] == home["blocks"]  # type: ignore[index]
    assert error_of(lambda: client.views_publish(user_id="U2", view=modal())) == (
        "invalid_arguments"
    )


# ----- files -----


def test_files_upload_v2_end_to_end(emulator: Emulator, client: WebClient) -> None:
    channel = client.conversations_open(users="U1")["channel"]["id"]
    content = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    answer = client.files_upload_v2(
        channel=channel, filename="order-42.pem", content=content, title="Certificate chain"
    )
    [shared] = emulator.files
    assert answer["file"]["id"] == shared.id
    assert (shared.filename, shared.title, shared.content) == (
        "order-42.pem",
        "Certificate chain",
        content,
    )
    assert shared.channels == [channel]
    assert [m.files for m in emulator.dms_to("U1")] == [[shared.id]]
    client.files_delete(file=shared.id)
    assert emulator.files[0].deleted
    assert error_of(lambda: client.files_delete(file=shared.id)) == "file_deleted"


def test_complete_upload_refuses_files_never_uploaded(
    emulator: Emulator, client: WebClient
) -> None:
    reserved = client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert reserved["upload_url"].startswith(emulator.base_url + "/upload/")
    assert (
        error_of(lambda: client.files_completeUploadExternal(files=[{"id": reserved["file_id"]}]))
        == "file_not_found"
    )
    assert error_of(lambda: client.files_completeUploadExternal(files=[{"id": "F404"}])) == (
        "file_not_found"
    )


# ----- failures Slack can have -----


def test_429_retry_after_is_honoured_by_the_retry_handler(
    emulator: Emulator, client: WebClient
) -> None:
    emulator.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    client.chat_postMessage(channel="U1", text="after the wait")
    assert time.monotonic() - started >= 1.0
    calls = emulator.calls_to("chat.postMessage")
    assert [(c.ok, c.error) for c in calls] == [(False, "ratelimited"), (True, None)]
    assert [m.text for m in emulator.dms_to("U1")] == ["after the wait"]


def test_429_without_retry_handler_surfaces_retry_after(emulator: Emulator) -> None:
    emulator.fail_next("users.info", status=429, retry_after=7)
    bare = WebClient(token=TOKEN, base_url=emulator.api_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as raised:
        bare.users_info(user="U1")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(emulator: Emulator, client: WebClient, status: int) -> None:
    emulator.fail_next("users.info", status=status, times=2)
    assert client.users_info(user="U1")["user"]["id"] == "U1"
    assert [c.ok for c in emulator.calls_to("users.info")] == [False, False, True]


def test_private_file_download_needs_the_bot_token(emulator: Emulator) -> None:
    file = emulator.add_user_file("U1", filename="my.csr", content=b"CSR")
    request = urllib.request.Request(
        file["url_private_download"], headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.read() == b"CSR"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(file["url_private_download"])
    assert refused.value.code == 401


def test_upload_url_accepts_multipart_too(emulator: Emulator, client: WebClient) -> None:
    reserved = client.files_getUploadURLExternal(filename="key.pem", length=4)
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="key.pem"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\nKEY!\r\n--XyZ--\r\n"
    )
    request = urllib.request.Request(
        reserved["upload_url"],
        data=body,
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    client.files_completeUploadExternal(files=[{"id": reserved["file_id"], "title": "Key"}])
    [file] = emulator.files
    assert (file.content, file.title, file.channels) == (b"KEY!", "Key", [])
