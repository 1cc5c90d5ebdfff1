"""APScheduler 3 with its jobs stored in certdesk's own database: poll, remind, expire, clean up.

Every process that runs a scheduler (each ``certdesk serve`` without ``--no-scheduler``, and
``certdesk worker``) writes the same fixed job ids with ``replace_existing``, so the job
store always holds exactly one set of jobs. APScheduler 3 does not coordinate processes,
so two schedulers may both run a job; the jobs claim rows in the database before acting,
which makes that harmless.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from datetime import UTC, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import jobs
from bot.config import Settings
from bot.services import Services
from bot.sweep_metrics import watch_scheduler

logger = logging.getLogger(__name__)

#: The job store's table, beside certdesk's own (not managed by Alembic).
JOBS_TABLE = "apscheduler_jobs"


@dataclass(frozen=True)
class JobSpec:
    """One recurring job: its fixed id, the importable function, and how often it runs."""

    id: str
    func: str
    every: timedelta


def job_specs(settings: Settings) -> list[JobSpec]:
    """The jobs certdesk runs, with the intervals from Settings."""
    return [
        JobSpec("certdesk.poll_ca", "bot.jobs:poll_ca", settings.poll_interval),
        JobSpec("certdesk.send_reminders", "bot.jobs:send_reminders", settings.tick),
        JobSpec("certdesk.expire_certificates", "bot.jobs:expire_certificates", settings.tick),
        JobSpec("certdesk.delete_key_files", "bot.jobs:delete_key_files", settings.tick),
        JobSpec("certdesk.deliver_owed", "bot.jobs:deliver_owed", settings.tick),
    ]


def build_scheduler(services: Services) -> BackgroundScheduler:
    """A scheduler (not started) whose job store is a table in certdesk's database."""
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=services.engine, tablename=JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={
            # Every job sweeps *everything* due, so a backlog of missed runs (the process was
            # down or busy) collapses into one run instead of several in a row...
            "coalesce": True,
            # ...and a run missed by any amount still happens at once on start-up: dropping
            # it (APScheduler's default grace is 1 s) would delay reminders by a whole tick.
            "misfire_grace_time": None,
            # A slow sweep (a CA outage, Slack rate limits) must not overlap with the next.
            "max_instances": 1,
        },
        timezone=UTC,
    )


def add_jobs(scheduler: BackgroundScheduler, settings: Settings) -> None:
    """Write certdesk's jobs into the store, replacing any left by an earlier start."""
    for spec in job_specs(settings):
        scheduler.add_job(
            spec.func,
            trigger=IntervalTrigger(seconds=spec.every.total_seconds(), timezone=UTC),
            id=spec.id,
            name=spec.id,
            replace_existing=True,
        )


def start_scheduler(services: Services, *, replace_jobs: bool = True) -> BackgroundScheduler:
    """Start the scheduler in the background for this process's Services.

    ``replace_jobs=False`` runs whatever the job store already holds (used to show that
    jobs survive a restart).
    """
    jobs.set_services(services)
    scheduler = build_scheduler(services)
    watch_scheduler(scheduler)  # certdesk_sweep_seconds
    scheduler.start()
    if replace_jobs:
        add_jobs(scheduler, services.settings)
    logger.info("scheduler started: %s", ", ".join(j.id for j in scheduler.get_jobs()))
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler) -> None:
    """Stop after the running jobs finish; the stored jobs stay for the next start."""
    if scheduler.running:
        scheduler.shutdown(wait=True)
    jobs.set_services(None)


def run_worker(settings: Settings, *, stop: threading.Event | None = None) -> None:
    """Run the scheduler alone until SIGTERM or SIGINT (or ``stop`` is set)."""
    from bot.app import build_services

    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("worker: %s received, stopping", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    services = build_services(settings, jobs=True)
    scheduler = start_scheduler(services)
    logger.info("certdesk worker: running")
    try:
        stop.wait()
    finally:
        stop_scheduler(scheduler)
        services.background.shutdown()
        services.engine.dispose()
        logger.info("certdesk worker: stopped")
