"""Prometheus metrics: what certdesk counts, the small functions that count it, and the scrape.

Counters and histograms live in this process (or, with PROMETHEUS_MULTIPROC_DIR set before
the process starts, in files shared by every serve and worker process on the host, summed at
scrape time). Orders by state and the age of the oldest overdue row are read from the
database at scrape time, so every replica reports the same, whole-system figures.

Label values are always from a closed set (states, reminder kinds, CA operations, Slack
method names): never a domain name, a user id, a token or anything a person typed.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.workflow import State
from storage import stats
from storage.models import utcnow

#: Time in a state: minutes (submitted) to the 30-day verification window.
STATE_BUCKETS = (60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400)
#: One CA call: local simulated calls take milliseconds, an ACME finalize a few seconds.
CALL_BUCKETS = (0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
#: One sweep of a scheduled job.
SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300)

STATE_SECONDS = Histogram(
    "certdesk_order_state_seconds",
    "Time an order spent in a state, observed when it leaves it",
    ["state", "next_state"],
    buckets=STATE_BUCKETS,
)
REMINDERS = Counter(
    "certdesk_reminders",
    "Reminder slots by outcome: sent, failed (retried later) or skipped (no longer wanted)",
    ["kind", "outcome"],
)
CA_CALLS = Counter(
    "certdesk_ca_calls", "Calls to the CA backend by outcome", ["backend", "operation", "outcome"]
)
CA_SECONDS = Histogram(
    "certdesk_ca_call_seconds",
    "Latency of calls to the CA backend",
    ["backend", "operation"],
    buckets=CALL_BUCKETS,
)
SLACK_CALLS = Counter(
    "certdesk_slack_api_calls",
    "Slack Web API requests (each attempt, retries included) by method and outcome",
    ["method", "outcome"],
)
SLACK_RATE_LIMITED = Counter(
    "certdesk_slack_rate_limited", "Slack Web API answers with HTTP 429, by method", ["method"]
)
SWEEP_SECONDS = Histogram(
    "certdesk_sweep_seconds",
    "Duration of one run of a scheduled job",
    ["job", "outcome"],
    buckets=SWEEP_BUCKETS,
)
SWEEP_START_LAG = Histogram(
    "certdesk_sweep_start_lag_seconds",
    "How late a scheduled job started after its scheduled time",
    ["job"],
    buckets=SWEEP_BUCKETS,
)
BACKGROUND_DEPTH = Gauge(
    "certdesk_background_queue_depth",
    "Work handed to the background pool after an ack, queued or running",
    multiprocess_mode="livesum",
)

REMINDER_KINDS = frozenset(
    {"verification", "escalation", "approval", "approval_escalation", "expiry"}
)
CA_OPERATIONS = frozenset(
    {
        "submit",
        "status",
        "resend_verification",
        "request_validation",
        "cancel",
        "fetch_certificate",
        "revoke",
        "check",
        "purchases",
        "fetch_private_key",
    }
)
_SLACK_METHOD = re.compile(r"^[a-z]+(\.[a-zA-Z0-9]+){1,3}$")
_JOB = re.compile(r"^[a-z0-9_.]{1,64}$")
OTHER = "other"
logger = logging.getLogger(__name__)


def _state(value: object) -> str:
    text = str(value)
    return text if text in State._value2member_map_ else OTHER


def observe_transition(from_state: str, to_state: str, seconds: float) -> None:
    """Record that an order left ``from_state`` for ``to_state`` after ``seconds`` in it."""
    STATE_SECONDS.labels(_state(from_state), _state(to_state)).observe(max(0.0, seconds))


def _kind(kind: str) -> str:
    return kind if kind in REMINDER_KINDS else OTHER


def reminder_sent(kind: str) -> None:
    """A reminder of ``kind`` reached Slack."""
    REMINDERS.labels(_kind(kind), "sent").inc()


def reminder_failed(kind: str) -> None:
    """Sending a reminder of ``kind`` failed; the slot is retried later."""
    REMINDERS.labels(_kind(kind), "failed").inc()


def reminder_skipped(kind: str) -> None:
    """A due reminder of ``kind`` was dropped: the order moved on or the window closed."""
    REMINDERS.labels(_kind(kind), "skipped").inc()


def ca_call(backend: str, operation: str, outcome: str, seconds: float) -> None:
    """One call to the CA backend (outcome: ok, refused, unavailable or error)."""
    op = operation if operation in CA_OPERATIONS else OTHER
    CA_CALLS.labels(backend, op, outcome).inc()
    CA_SECONDS.labels(backend, op).observe(seconds)


def slack_method(url_or_method: str) -> str:
    """The Web API method named by a request URL or name, or "other" (never a raw URL)."""
    name = url_or_method.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name if _SLACK_METHOD.match(name) and len(name) <= 64 else OTHER


def slack_call(method: str, outcome: str) -> None:
    """One Slack Web API request (outcome: ok, error, rate_limited, server_error, unreachable)."""
    name = slack_method(method)
    SLACK_CALLS.labels(name, outcome).inc()
    if outcome == "rate_limited":
        SLACK_RATE_LIMITED.labels(name).inc()


def sweep_finished(job: str, *, seconds: float, ok: bool, late_by: float | None = None) -> None:
    """One run of a scheduled job took ``seconds`` (and started ``late_by`` after its time)."""
    name = job if _JOB.match(job) else OTHER
    SWEEP_SECONDS.labels(name, "ok" if ok else "error").observe(seconds)
    if late_by is not None:
        SWEEP_START_LAG.labels(name).observe(max(0.0, late_by))


@contextmanager
def sweep(job: str) -> Iterator[None]:
    """Time the block as one run of ``job``."""
    began, ok = time.monotonic(), False
    try:
        yield
        ok = True
    finally:
        sweep_finished(job, seconds=time.monotonic() - began, ok=ok)


def background_queued() -> None:
    """One piece of work entered the background pool."""
    BACKGROUND_DEPTH.inc()


def background_done() -> None:
    """One piece of work left the background pool (finished or failed)."""
    BACKGROUND_DEPTH.dec()


class DatabaseCollector(Collector):
    """Figures read from the database at scrape time: orders by state, overdue rows' age."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        orders = GaugeMetricFamily("certdesk_orders", "Orders by state", labels=["state"])
        lag = GaugeMetricFamily(
            "certdesk_due_lag_seconds",
            "Age of the oldest row whose time has come but is not handled yet (0: none waiting)",
            labels=["queue"],
        )
        up = GaugeMetricFamily(
            "certdesk_metrics_database_up",
            "Whether this scrape read the database (0: certdesk_orders and _due_lag are missing)",
        )
        now = utcnow()
        try:
            with self._sessions() as session:
                counts = stats.orders_by_state(session)
                oldest = stats.oldest_due(session, now=now)
        except SQLAlchemyError as exc:
            # The process's own figures (Slack, CA, reminders) matter most during an outage.
            logger.warning("metrics: cannot read the database (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        for known in State:
            orders.add_metric([known.value], counts.pop(known.value, 0))
        if counts:  # rows in states this version does not know (a newer one wrote them)
            orders.add_metric([OTHER], sum(counts.values()))
        for queue, due in sorted(oldest.items()):
            lag.add_metric([queue], max(0.0, (now - due).total_seconds()) if due else 0.0)
        yield orders
        yield lag


def multiprocess_dir() -> Path | None:
    """PROMETHEUS_MULTIPROC_DIR, which prometheus-client itself reads when it is imported.

    Read from the process environment, not Settings, because that is where prometheus-client
    takes it from: the two can then never disagree about where the values are.
    """
    raw = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(raw) if raw else None


def scrape_registry(sessions: sessionmaker[Session]) -> CollectorRegistry:
    """A registry collecting this process (and its siblings) and the database at each scrape."""
    registry = CollectorRegistry()
    shared = multiprocess_dir()
    if shared is not None:
        multiprocess.MultiProcessCollector(registry, path=str(shared))
    else:
        registry.register(_ProcessMetrics())
    registry.register(DatabaseCollector(sessions))
    return registry


def render(sessions: sessionmaker[Session]) -> tuple[bytes, str]:
    """The exposition text for a scrape of this process (and its siblings) and its content type."""
    return generate_latest(scrape_registry(sessions)), CONTENT_TYPE_LATEST


def serve_metrics(sessions: sessionmaker[Session], *, host: str, port: int) -> None:
    """Serve GET /metrics on its own port from a background thread (for `certdesk worker`,
    which has no web server of its own)."""
    start_http_server(port, addr=host, registry=scrape_registry(sessions))


class _ProcessMetrics(Collector):
    """This process's own metrics (the default registry), inside a per-scrape registry."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


def forget_this_process() -> None:
    """On a clean exit in multiprocess mode, drop this process's live gauges from the sums."""
    shared = multiprocess_dir()
    if shared is not None:
        multiprocess.mark_process_dead(os.getpid(), path=str(shared))


# A process killed outright leaves its live gauges behind until the directory is emptied,
# which is why the deployment gives the directory the lifetime of the container (tmpfs).
atexit.register(forget_this_process)
