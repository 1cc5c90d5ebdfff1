"""`certdesk serve --workers N`: N gunicorn workers on one socket, and one scheduler process.

The gunicorn arbiter forks the workers (each builds its own app after the fork: engines and
threads do not survive a fork) and keeps one scheduler child alive beside them, started with
``python -m bot.serve_workers`` (never forked from a process running threads). On a SQLite
store the child also takes the store's scheduler lock, so a stray scheduler cannot double up.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from bot.config import Settings
from bot.migrating import upgrade_in_child
from bot.stop_signals import on_stop_signal

logger = logging.getLogger(__name__)

#: A scheduler that keeps dying is restarted no more often than this.
RESTART_SECONDS = 5.0
#: Header on /healthz naming the worker that answered (so each can be seen to answer).
WORKER_HEADER = "X-Certdesk-Worker"

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Arbiter(Arbiter):
    """gunicorn's arbiter, also keeping the one scheduler child alive."""

    def __init__(self, app: CertdeskWorkers) -> None:
        super().__init__(app)
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.scheduler_started = 0.0

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.app.scheduler:
            self._keep_scheduler()

    def _keep_scheduler(self) -> None:
        # The arbiter reaps every child with waitpid(-1); poll() then reports it as ended.
        if self.scheduler is not None and self.scheduler.poll() is None:
            return
        if self.scheduler is not None:
            if time.monotonic() - self.scheduler_started < RESTART_SECONDS:
                return
            self.log.error("the scheduler process ended; starting another")
        self.scheduler = subprocess.Popen([sys.executable, "-m", "bot.serve_workers"])
        self.scheduler_started = time.monotonic()
        self.log.info("scheduler process %s started", self.scheduler.pid)

    def halt(self, reason: str | None = None, exit_status: int = 0) -> None:
        if self.scheduler is not None and self.scheduler.poll() is None:
            self.scheduler.terminate()
            try:
                self.scheduler.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.scheduler.kill()
        super().halt(reason, exit_status)


class CertdeskWorkers(BaseApplication):
    """certdesk's WSGI app under gunicorn, built in each worker after the fork."""

    def __init__(
        self, settings: Settings, *, host: str, port: int, workers: int, scheduler: bool
    ) -> None:
        self.settings = settings
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            # Threads, as with waitress: a listener may wait on Slack's Web API before acking.
            "worker_class": "gthread",
            "threads": 8,
            "keepalive": 5,
            "graceful_timeout": 10,
            "proc_name": "certdesk",
            "loglevel": settings.log_level.lower(),
            # The control socket would be one more thread in the arbiter, and a file in $HOME.
            "control_socket_disable": True,
            "worker_exit": _worker_exit,
        }
        self.scheduler = scheduler
        self.certdesk: Any = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Wsgi:
        # Imported here, in the forked worker: the arbiter never loads the app (it stays small,
        # and no database connection or thread crosses a fork).
        from bot import app as application
        from bot.web import wsgi_for

        self.certdesk = application.create(self.settings)
        return _name_worker(wsgi_for(self.certdesk))

    def run(self) -> None:
        _Arbiter(self).run()


def _worker_exit(_server: Any, worker: Any) -> None:
    # Finish the hand-off work (DMs, files) this worker accepted before it stops.
    certdesk = getattr(worker.app, "certdesk", None)
    if certdesk is not None:
        certdesk.services.background.shutdown()


def _name_worker(wsgi: Wsgi) -> Wsgi:
    """Say which worker answered /healthz (a pid only: nothing an outsider can use)."""
    pid = str(os.getpid())

    def named(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/healthz":
            return wsgi(environ, start_response)

        def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            return start_response(status, [*headers, (WORKER_HEADER, pid)], *exc)

        return wsgi(environ, start)

    return named


def serve_workers(
    settings: Settings, *, host: str, port: int, workers: int, scheduler: bool
) -> None:
    """Serve with ``workers`` processes until SIGTERM/SIGINT, and one scheduler beside them."""
    if settings.database_url.startswith("sqlite"):
        # Once, before the workers start: N workers each migrating the same file would race.
        upgrade_in_child()  # bot.migrating: in a child, so the arbiter never imports Alembic
    CertdeskWorkers(settings, host=host, port=port, workers=workers, scheduler=scheduler).run()


def run_scheduler_process() -> int:
    """The scheduler child: wait for the store's scheduler lock, then run until told to stop."""
    # Imported in the child only, for the same reason as in ``load``.
    from bot.scheduler import run_worker
    from bot.scheduler_lock import sole_scheduler

    settings = Settings.load()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    stop = threading.Event()
    on_stop_signal(stop.set, who="scheduler process")
    parent = os.getppid()
    # Orphaned (the arbiter was killed), a scheduler must not run on unsupervised.
    threading.Thread(target=_stop_when_orphaned, args=(parent, stop), daemon=True).start()
    with sole_scheduler(settings, stop) as mine:
        if not mine:
            return 0
        logger.info("scheduler process %s holds the scheduler lock", os.getpid())
        run_worker(settings, stop=stop)
    return 0


def _stop_when_orphaned(parent: int, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:
            logger.warning("the serving process is gone; the scheduler stops")
            stop.set()


if __name__ == "__main__":
    sys.exit(run_scheduler_process())
