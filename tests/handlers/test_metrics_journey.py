"""GET /metrics after a journey through the running app: the journey is there, to the call.

Counters are per process, so the test compares a scrape before with one after; the orders
by state come from the database and are exact.
"""

from __future__ import annotations

import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from support.app_fixtures import ALICE, SECRET, TOKEN, Running, wait_for
from support.ca_flow import load_order
from test_commands import register
from test_complete import GOOD_DV, open_complete
from test_journey import NOTIFY, journey  # noqa: F401 - the fixture: hours compressed into seconds

from bot.ca.simulated import mailer
from bot.demo import browser
from bot.scheduler import start_scheduler, stop_scheduler
from storage.models import Reminder

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> tuple[str, Samples]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=")
        text = answer.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_show_the_journey(journey: Callable[..., Running]) -> None:  # noqa: F811
    desk = journey()
    emu, services = desk.emulator, desk.services
    emu.add_channel(NOTIFY)
    _, before = scrape(desk.http.url)
    calls_before = len(emu.calls)

    ref = register(desk, ALICE)
    order_id = int(ref[3:])
    open_complete(desk, ALICE, ref)
    assert desk.slack.submit_view(ALICE, GOOD_DV).json()["response_action"] == "push"
    # Slack turns the first DM after submitting away once with a 429; the client waits it out.
    emu.fail_next("chat.postMessage", status=429, retry_after=0)
    assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    desk.settle()
    scheduler = start_scheduler(services)
    try:
        wait_for(
            lambda: load_order(services, order_id).state == "awaiting_verification",
            timeout=15,
            what="the CA to ask for verification",
        )
        wait_for(
            lambda: value(scrape(desk.http.url)[1], "certdesk_reminders_total",
                          kind="verification", outcome="sent")
            > value(before, "certdesk_reminders_total", kind="verification", outcome="sent"),
            timeout=15,
            what="a verification reminder",
        )  # fmt: skip
        ca_ref = load_order(services, order_id).ca_ref
        assert ca_ref
        link = mailer.verification_links(Path(services.settings.data_dir) / "mail", ca_ref=ca_ref)
        page = browser.open_page(link[-1], timeout=5)
        assert browser.press_button(page, timeout=5).status == 200
        wait_for(lambda: load_order(services, order_id).state == "issued", timeout=15)
        wait_for(lambda: [m for m in emu.dms_to(ALICE) if "is issued" in m.text])
    finally:
        stop_scheduler(scheduler)
    desk.settle()
    text, after = scrape(desk.http.url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # Orders by state, from the database.
    assert value(after, "certdesk_orders", state="issued") == 1
    assert value(after, "certdesk_orders", state="awaiting_verification") == 0
    assert value(after, "certdesk_metrics_database_up") == 1
    # The CA calls, with their latency.
    ca = {"backend": "simulated"}
    assert delta("certdesk_ca_calls_total", **ca, operation="submit", outcome="ok") == 1
    assert delta("certdesk_ca_calls_total", **ca, operation="fetch_certificate", outcome="ok") == 1
    assert delta("certdesk_ca_calls_total", **ca, operation="status", outcome="ok") >= 2
    assert delta("certdesk_ca_call_seconds_count", **ca, operation="submit") == 1
    # Every Slack Web API request the emulator answered, counted by method and outcome.
    answered = Counter(
        (c.method, "ok" if c.ok else ("rate_limited" if c.error == "ratelimited" else "error"))
        for c in emu.calls[calls_before:]
        if "." in c.method  # Web API methods; not acks or response_url posts
    )
    for (method, outcome), count in answered.items():
        counted = delta("certdesk_slack_api_calls_total", method=method, outcome=outcome)
        assert counted == count, (method, outcome, counted, count)
    assert delta("certdesk_slack_rate_limited_total", method="chat.postMessage") == 1
    assert answered[("chat.postMessage", "ok")] >= 3 and len(answered) >= 5, answered
    # Reminders: what the database says was sent, no more and no less.
    with services.sessions.begin() as session:
        sent = session.scalar(
            select(func.count()).where(
                Reminder.sent_at.is_not(None), Reminder.kind == "verification"
            )
        )
    assert sent and delta("certdesk_reminders_total", kind="verification", outcome="sent") == sent
    # Time in each state: one observation per step the order took, purchased to issued.
    for step in (
        ("purchased", "submitted"),
        ("submitted", "awaiting_verification"),
        ("awaiting_verification", "issued"),
    ):
        state, next_state = step
        assert delta("certdesk_order_state_seconds_count", state=state, next_state=next_state) == 1
    # The sweeps that ran, and the background queue, empty again.
    assert delta("certdesk_sweep_seconds_count", job="poll_ca", outcome="ok") >= 1
    assert delta("certdesk_sweep_seconds_count", job="send_reminders", outcome="ok") >= 1
    assert ("certdesk_due_lag_seconds", frozenset({("queue", "reminders")})) in after
    assert value(after, "certdesk_background_queue_depth") == 0
    # Nothing personal or secret in any label.
    for needle in ("example.com", ALICE, TOKEN, SECRET, ca_ref, "127.0.0.1"):
        assert needle not in text, needle
