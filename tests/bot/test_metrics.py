"""Metric helpers: closed label sets, the metered CA's outcomes, Slack method names."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from bot import metrics
from bot.ca.base import CABackend, CAState, CAStatus, Submission
from bot.ca.metered import MeteredCA
from bot.errors import CAError


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_time_in_state_uses_known_states_only() -> None:
    name = "certdesk_order_state_seconds_count"
    before = sample(name, state="submitted", next_state="issued")
    other = sample(name, state="other", next_state="other")
    metrics.observe_transition("submitted", "issued", 90.0)
    metrics.observe_transition("admin@example.com", "<script>", 1.0)
    assert sample(name, state="submitted", next_state="issued") == before + 1
    assert sample(name, state="other", next_state="other") == other + 1


@pytest.mark.parametrize(
    ("given", "method"),
    [
        ("http://127.0.0.1:9/api/chat.postMessage", "chat.postMessage"),
        ("https://slack.com/api/files.getUploadURLExternal?x=1", "files.getUploadURLExternal"),
        ("https://files.slack.com/upload/v1/CwABAAAAXAo", "other"),
        ("https://example.com/api/xoxb-secret-token", "other"),
        ("views.open", "views.open"),
    ],
)
def test_slack_method_labels_never_carry_a_url(given: str, method: str) -> None:
    assert metrics.slack_method(given) == method


class _Flaky(CABackend):
    name = "flaky"
    caa_identities = ("flaky.test",)

    def __init__(self) -> None:
        self.answers: list[Exception | None] = []
        self.extra = "passed through"

    def _next(self) -> None:
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer

    def submit(self, submission: Submission) -> str:
        self._next()
        return "ref-1"

    def status(self, ca_ref: str) -> CAStatus:
        self._next()
        return CAStatus(CAState.REVIEWING)

    def resend_verification(self, ca_ref: str) -> None:
        self._next()

    def cancel(self, ca_ref: str) -> None:
        self._next()

    def fetch_certificate(self, ca_ref: str) -> bytes:
        self._next()
        return b""


def test_the_metered_ca_counts_each_outcome_and_passes_everything_through() -> None:
    inner = _Flaky()
    ca = MeteredCA(inner)
    assert (ca.name, ca.caa_identities, ca.extra) == ("flaky", ("flaky.test",), "passed through")
    ca.extra = "the backend's own state is set on the backend"
    assert inner.extra == ca.extra
    calls = {o: sample("certdesk_ca_calls_total", backend="flaky", operation="status", outcome=o)
             for o in ("ok", "unavailable", "refused", "error")}  # fmt: skip
    timed = sample("certdesk_ca_call_seconds_count", backend="flaky", operation="status")
    checked = sample("certdesk_ca_calls_total", backend="flaky", operation="check", outcome="ok")
    inner.answers = [None, CAError("later", retryable=True), CAError("no"), KeyError("x")]
    assert ca.status("r").state is CAState.REVIEWING
    with pytest.raises(CAError, match="later"):
        ca.status("r")
    with pytest.raises(CAError, match="no"):
        ca.status("r")
    with pytest.raises(KeyError):
        ca.status("r")
    for outcome, before in calls.items():
        after = sample(
            "certdesk_ca_calls_total", backend="flaky", operation="status", outcome=outcome
        )
        assert after == before + 1, outcome
    seconds = sample("certdesk_ca_call_seconds_count", backend="flaky", operation="status")
    assert seconds == timed + 4, "each of the four calls is timed once, whatever its outcome"
    ca.check()  # the default: nothing to reach, always ready
    counted = sample("certdesk_ca_calls_total", backend="flaky", operation="check", outcome="ok")
    assert counted == checked + 1


def test_the_metered_ca_forwards_every_method_of_the_interface() -> None:
    # A method added to CABackend later must be forwarded too, or the wrapper's inherited
    # default would quietly answer instead of the backend.
    public = [n for n, v in vars(CABackend).items() if callable(v) and not n.startswith("_")]
    assert "verification_email" in public and "check" in public
    missing = [n for n in public if getattr(MeteredCA, n) is getattr(CABackend, n)]
    assert not missing, f"MeteredCA does not forward {missing}"
