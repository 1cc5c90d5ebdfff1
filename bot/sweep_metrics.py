"""Sweep durations and start lag from APScheduler's own job events (bot.metrics)."""

from __future__ import annotations

import threading
import time

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
    SchedulerEvent,
)
from apscheduler.schedulers.base import BaseScheduler

from bot import metrics
from storage.models import utcnow


class SweepWatcher:
    """Times each job from its submission to the executor until it finished.

    A job runs one instance at a time (``max_instances=1``), so a job id names one run.
    """

    def __init__(self) -> None:
        self._started: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, event: SchedulerEvent) -> None:
        if isinstance(event, JobSubmissionEvent):
            times = event.scheduled_run_times
            late = (utcnow() - times[0]).total_seconds() if times else 0.0
            with self._lock:
                self._started[event.job_id] = (time.monotonic(), late)
        elif isinstance(event, JobExecutionEvent):
            with self._lock:
                started = self._started.pop(event.job_id, None)
            if started is not None:
                began, late = started
                metrics.sweep_finished(
                    event.job_id.removeprefix("certdesk."),
                    seconds=time.monotonic() - began,
                    ok=event.exception is None,
                    late_by=late,
                )


def watch_scheduler(scheduler: BaseScheduler) -> None:
    """Record every run of the scheduler's jobs in certdesk_sweep_seconds (call once)."""
    scheduler.add_listener(
        SweepWatcher(), EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
    )
