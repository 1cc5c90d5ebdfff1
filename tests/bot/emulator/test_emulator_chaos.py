"""The emulator's chaos mode: a seeded share of Web API calls fails before acting, a share of
the rest acts and loses its answer; the same seed gives the same faults."""

from __future__ import annotations

from collections import Counter

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.emulator import Emulator

TOKEN = "xoxb-test-token"


def outcomes(seed: int, calls: int = 200) -> tuple[list[str], int, Counter[str]]:
    """Post ``calls`` messages with no client retries: each outcome, messages stored, faults."""
    with Emulator(token=TOKEN) as emulator:
        emulator.add_channel("CTEAM")
        emulator.add_user("UALICE", name="alice", tz="UTC")
        client = WebClient(token=TOKEN, base_url=emulator.api_url, retry_handlers=[])
        chaos = emulator.fail_at_random(0.5, lose=0.2, seed=seed, methods=["chat.postMessage"])
        seen = []
        for i in range(calls):
            try:
                client.chat_postMessage(channel="CTEAM", text=f"n{i}")
                seen.append("ok")
            except SlackApiError as exc:
                seen.append(str(exc.response.status_code))
        client.conversations_open(users="UALICE")  # not a faulted method: always answered
        emulator.stop_failing_at_random()
        client.chat_postMessage(channel="CTEAM", text="after")  # chaos over
        stored = len(emulator.messages("CTEAM")) - 1
        return seen, stored, chaos.injected


def test_half_the_calls_fail_and_lost_answers_still_act() -> None:
    seen, stored, injected = outcomes(seed=7)
    counts = Counter(seen)
    failed = counts["429"] + counts["503"] + counts["500"]
    lost = injected["chat.postMessage lost"]  # answered 500 too, after acting
    assert 70 <= failed - lost <= 130, counts  # about half failed before acting
    assert {"429", "500", "503", "ok"} <= set(counts)
    assert lost > 0 and stored == counts["ok"] + lost, "a lost answer's message is in Slack"
    assert sum(injected.values()) == failed


def test_the_same_seed_injects_the_same_faults() -> None:
    assert outcomes(seed=3, calls=60) == outcomes(seed=3, calls=60)
    assert outcomes(seed=3, calls=60)[0] != outcomes(seed=4, calls=60)[0]
