"""APScheduler 3 with its jobs stored in certdesk's own database: poll, remind, expire, clean up.

Any number of processes may run certdesk's jobs (``certdesk worker``, ``certdesk serve``
without ``--no-scheduler``), but on PostgreSQL only the one holding the scheduler lock
(bot.leader) runs a scheduler at any time; the others stand by and take over within the lock's
TTL when it dies or freezes. The jobs still claim rows in the database before acting, so a
holder that froze mid-sweep and wakes up after the hand-over does no harm. On SQLite every
scheduler runs, and those row claims alone keep them apart.

Every scheduler writes the same fixed job ids with ``replace_existing``, so the job store
always holds exactly one set of jobs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import jobs
from bot.app import build_services
from bot.config import Settings
from bot.leader import Leadership
from bot.services import Services
from bot.stop_signals import on_stop_signal
from bot.sweep_metrics import watch_scheduler
from storage.reminder_claims import release_owned

logger = logging.getLogger(__name__)

#: How often the worker's main thread wakes to run a signal handler another thread received.
SIGNAL_CHECK_SECONDS = 0.5

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


class GatedExecutor(ThreadPoolExecutor):
    """A thread pool that runs a job only while ``gate()`` says this process may, and can
    tell when none of its jobs is running any more."""

    def __init__(self, gate: Callable[[], bool], max_workers: int = 4) -> None:
        super().__init__(max_workers=max_workers)
        self._gate = gate
        self._closed = False

    def submit_job(self, job: Job, run_times: list) -> None:
        """Run ``job`` unless this process has lost the scheduler lock (then skip this run)
        or is stopping (APScheduler's thread may hand over one more job after the shutdown,
        which the closed pool would refuse with an error)."""
        assert self._lock is not None  # APScheduler's RLock, set when the scheduler starts
        with self._lock:
            if self._closed:
                return
            if not self._gate():
                logger.info(
                    "job %s skipped: this process no longer holds the scheduler lock", job.id
                )
                return
            super().submit_job(job, run_times)

    def shutdown(self, wait: bool = True) -> None:
        """Take no more jobs, then shut the pool down (not under the lock: a job that ends
        takes it to say so)."""
        if self._lock is not None:
            with self._lock:
                self._closed = True
        super().shutdown(wait)

    def busy(self) -> bool:
        """Whether a job submitted here is still running."""
        assert self._lock is not None
        with self._lock:
            return any(self._instances.values())


def build_scheduler(
    services: Services, *, gate: Callable[[], bool] = lambda: True
) -> BackgroundScheduler:
    """A scheduler (not started) whose job store is a table in certdesk's database."""
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=services.engine, tablename=JOBS_TABLE)},
        executors={"default": GatedExecutor(gate, max_workers=4)},
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


def start_scheduler(
    services: Services, *, replace_jobs: bool = True, gate: Callable[[], bool] = lambda: True
) -> BackgroundScheduler:
    """Start the scheduler in the background for this process's Services.

    ``replace_jobs=False`` runs whatever the job store already holds (used to show that
    jobs survive a restart); ``gate`` is asked before each run (the scheduler lock).
    """
    jobs.set_services(services)
    scheduler = build_scheduler(services, gate=gate)
    watch_scheduler(scheduler)  # certdesk_sweep_seconds
    scheduler.start()
    if replace_jobs:
        add_jobs(scheduler, services.settings)
    logger.info("scheduler started: %s", ", ".join(j.id for j in scheduler.get_jobs()))
    return scheduler


def stop_scheduler(scheduler: BackgroundScheduler, *, timeout: float | None = None) -> bool:
    """Stop starting jobs and wait for the running ones (at most ``timeout`` seconds).

    Returns whether every job finished; the stored jobs stay for the next start.
    """
    if scheduler.running:
        scheduler.shutdown(wait=False)
    deadline = None if timeout is None else time.monotonic() + timeout
    while job_running(scheduler):
        if deadline is not None and time.monotonic() >= deadline:
            logger.warning("scheduler stopped with a job still running after %.0f s", timeout)
            return False
        time.sleep(0.05)
    jobs.set_services(None)
    return True


class ScheduledJobs:
    """This process's share of the jobs: a scheduler that runs while it holds the lock."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._grace = services.settings.shutdown_grace.total_seconds()
        self._scheduler: BackgroundScheduler | None = None
        #: Schedulers stopped (the lock went) while a job still ran: it may run on.
        self._overran: list[BackgroundScheduler] = []
        self.leadership = Leadership(
            services.engine,
            ttl=services.settings.leader_ttl,
            on_gain=self._gain,
            on_lose=self._lose,
        )

    def start(self) -> None:
        """Stand by for the scheduler lock; run the scheduler whenever it is ours."""
        self.leadership.start()

    def stop(self) -> bool:
        """Stop the scheduler (bounded by the shutdown grace), then let the lock go.

        Returns whether every running job finished in time (not if the scheduler's stop
        itself overran: a job may still be running then).
        """
        ended = self.leadership.stop(timeout=self._grace + 10)
        return ended and not any(job_running(scheduler) for scheduler in self._overran)

    def _gain(self) -> None:
        self._scheduler = start_scheduler(self._services, gate=self.leadership.leading)

    def _lose(self) -> None:
        if self._scheduler is not None:
            if not stop_scheduler(self._scheduler, timeout=self._grace):
                self._overran.append(self._scheduler)
            self._scheduler = None


def job_running(scheduler: BackgroundScheduler) -> bool:
    """Whether a job ``scheduler`` started is still running."""
    executor = scheduler._lookup_executor("default")
    return isinstance(executor, GatedExecutor) and executor.busy()


def run_worker(settings: Settings, *, stop: threading.Event | None = None) -> bool:
    """Run the scheduler alone until SIGTERM or SIGINT, or, given ``stop``, until it is set
    (then whoever gave it handles the signals).

    Returns whether it stopped cleanly; if a job was still running after the shutdown grace,
    the reminder claims this process holds are handed back and the caller must exit at once.
    """
    if stop is None:  # else whoever passed ``stop`` handles the signals
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            on_stop_signal(stop.set, who="worker")
    services = build_services(settings, jobs=True)
    scheduled = ScheduledJobs(services)
    scheduled.start()
    logger.info("certdesk worker: running")
    clean = False
    try:
        # Not a bare wait(): the main thread must run Python code now and then for a signal
        # handler to run at all (bot.stop_signals).
        while not stop.wait(SIGNAL_CHECK_SECONDS):
            pass
    finally:
        clean = scheduled.stop()
        try:
            services.background.drain(timeout=settings.shutdown_grace.total_seconds())
        except TimeoutError:
            logger.warning("certdesk worker: background work still running at exit")
            clean = False
        else:
            services.background.shutdown()
        if not clean:
            # Last thing before the caller exits, so a job still running has (almost) no time
            # left to claim anything after this.
            released = release_claims_of_this_process(services)
            logger.warning("certdesk worker: handed back %s reminder claim(s) unfinished", released)
        services.engine.dispose()
        logger.info("certdesk worker: stopped")
    return clean


def release_claims_of_this_process(services: Services) -> int:
    """Hand back the reminder slots this process's sweeps still hold (it is about to exit)."""
    return release_owned(services.sessions, owner=jobs.process_owner())
