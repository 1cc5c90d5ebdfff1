"""The APScheduler jobs: stored in certdesk's database, surviving restarts, one set for all."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, inspect, text
from support.app_fixtures import ALICE, Running, certdesk_env, wait_for
from support.ca_flow import load_order, submitted_order

from bot import jobs
from bot.scheduler import (
    JOBS_TABLE,
    GatedExecutor,
    ScheduledJobs,
    job_running,
    start_scheduler,
    stop_scheduler,
)
from storage.reminder_claims import TOKEN_WORKER_CHARS

JOB_IDS = {
    "certdesk.poll_ca",
    "certdesk.send_reminders",
    "certdesk.expire_certificates",
    "certdesk.delete_key_files",
    "certdesk.deliver_owed",
}
FAST = {
    "CERTDESK_POLL_INTERVAL": "1s",
    "CERTDESK_TICK": "1s",
    "CERTDESK_SIM_REVIEW_DELAY": "1s",
}


def stored_jobs(desk: Running) -> dict[str, float]:
    """Job id → next run time, as the job store's table holds them."""
    with desk.services.engine.connect() as connection:
        rows = connection.execute(text(f"SELECT id, next_run_time FROM {JOBS_TABLE}"))
        return {row.id: row.next_run_time for row in rows}


def test_jobs_are_stored_in_the_database_and_survive_a_restart(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(**FAST)
    scheduler = start_scheduler(desk.services)
    try:
        assert set(stored_jobs(desk)) == JOB_IDS
        job = scheduler.get_job("certdesk.poll_ca")
        assert job is not None and job.coalesce and job.max_instances == 1
        assert job.misfire_grace_time is None
    finally:
        stop_scheduler(scheduler)
    assert jobs.current_services() is None
    assert set(stored_jobs(desk)) == JOB_IDS  # still there with nothing running
    order_id = submitted_order(desk.services, ALICE)
    # Start again without adding anything: the stored jobs run and move the order on.
    again = start_scheduler(desk.services, replace_jobs=False)
    try:
        assert {j.id for j in again.get_jobs()} == JOB_IDS
        wait_for(
            lambda: load_order(desk.services, order_id).state == "awaiting_verification",
            timeout=10,
            what="the restored poll job to run",
        )
    finally:
        stop_scheduler(again)


def test_several_schedulers_keep_exactly_one_set_of_jobs(
    start_certdesk: Callable[..., Running],
) -> None:
    desk = start_certdesk(**FAST)
    first = start_scheduler(desk.services)
    second = start_scheduler(desk.services)
    try:
        assert set(stored_jobs(desk)) == JOB_IDS
        with desk.services.engine.connect() as connection:
            count = connection.execute(text(f"SELECT count(*) FROM {JOBS_TABLE}")).scalar()
        assert count == len(JOB_IDS)
    finally:
        stop_scheduler(second)
        stop_scheduler(first)


def test_a_failing_job_logs_its_traceback_and_keeps_running(
    certdesk: Running, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(services: object, *, now: object) -> int:
        raise RuntimeError("database went away")

    monkeypatch.setattr("bot.jobs.poll_due", broken)
    jobs.set_services(certdesk.services)
    try:
        with caplog.at_level(logging.ERROR, logger="bot.jobs"):
            assert jobs.poll_ca() is None
        record = next(r for r in caplog.records if "poll_ca failed" in r.getMessage())
        assert record.exc_info and "database went away" in str(record.exc_info[1])
    finally:
        jobs.set_services(None)
    # Without services (a process that never started the scheduler) jobs do nothing.
    assert jobs.expire_certificates() is None


def test_certdesk_worker_runs_the_jobs_and_stops_cleanly_on_sigterm(
    certdesk: Running, tmp_path: Path
) -> None:
    database = tmp_path / "worker.sqlite3"
    env = {
        **os.environ,
        **certdesk_env(certdesk.emulator, tmp_path / "worker-data", **FAST),
        "DATABASE_URL": f"sqlite:///{database}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        engine = create_engine(f"sqlite:///{database}")

        def jobs_stored() -> bool:
            if not database.exists() or JOBS_TABLE not in inspect(engine).get_table_names():
                return False
            with engine.connect() as connection:
                ids = {r.id for r in connection.execute(text(f"SELECT id FROM {JOBS_TABLE}"))}
            return ids == JOB_IDS

        wait_for(jobs_stored, timeout=20, what="the worker to store its jobs")
        engine.dispose()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "certdesk worker: stopped" in output
    assert "Traceback" not in output


def test_a_job_handed_over_after_the_pool_closed_is_dropped_without_an_error() -> None:
    """APScheduler's thread may look for due jobs once more after shutdown(wait=False): the
    executor drops what it hands over then (the closed pool would raise and log a traceback)."""
    ran: list[str] = []
    executor = GatedExecutor(lambda: True, max_workers=1)
    scheduler = BackgroundScheduler(executors={"default": executor})
    scheduler.start(paused=True)
    try:
        job = scheduler.add_job(lambda: ran.append("ran"), "interval", seconds=60, id="late")
        executor.shutdown()
        executor.submit_job(job, [datetime.now(UTC)])  # no RuntimeError from the closed pool
    finally:
        scheduler.shutdown(wait=False)
    assert ran == [] and not executor.busy()


@pytest.mark.parametrize(
    "hosts",
    [
        ("worker-1", "worker-2"),
        # Pods of one deployment: long names sharing a prefix, all running as process 1.
        (
            "certdesk-worker-7d9f8c6b5-abcde.eu-west-1.compute.internal",
            "certdesk-worker-7d9f8c6b5-fghij.eu-west-1.compute.internal",
        ),
    ],
)
def test_a_process_owner_is_whole_in_its_claim_tokens_and_tells_hosts_apart(
    monkeypatch: pytest.MonkeyPatch, hosts: tuple[str, str]
) -> None:
    owners = []
    for host in hosts:
        monkeypatch.setattr(jobs.socket, "gethostname", lambda host=host: host)
        monkeypatch.setattr(jobs.os, "getpid", lambda: 1)
        owners.append(jobs.process_owner())
        # A claim's token keeps the first characters of the worker id: the owner must fit.
        kept = jobs.worker_id()[:TOKEN_WORKER_CHARS]
        assert kept.startswith(owners[-1]), owners[-1]
    assert owners[0] != owners[1]
    assert not owners[0].startswith(owners[1]) and not owners[1].startswith(owners[0])


def test_a_scheduler_stopped_with_a_job_running_counts_until_that_job_ends(
    start_certdesk: Callable[..., Running],
) -> None:
    """The lock went while a job ran on, came back, and went again cleanly: the process's
    stop is clean only once the first job has ended (its claims are handed back otherwise)."""
    desk = start_certdesk(**FAST, CERTDESK_SHUTDOWN_GRACE="1s")
    scheduled = ScheduledJobs(desk.services)
    release = threading.Event()
    scheduled.leadership.leading = lambda: True  # type: ignore[method-assign]  # held, here
    scheduled._gain()  # as the follower thread does when the lock is taken
    assert scheduled._scheduler is not None
    first = scheduled._scheduler
    first.add_jobstore("memory", alias="here")  # a job that is not stored
    first.add_job(release.wait, id="slow", kwargs={"timeout": 30}, jobstore="here")
    try:
        wait_for(lambda: job_running(first), what="the slow job to start")
        scheduled._lose()  # the lock went: the slow job overran the grace
        scheduled._gain()
        scheduled._lose()  # back, then gone again, this time with nothing running
        assert scheduled.stop() is False, "the first job still runs"
    finally:
        release.set()  # a failure above must not leave the job waiting its 30 s
    wait_for(lambda: scheduled.stop(), what="a clean stop once the job ended")
