"""Running certdesk: the HTTP server (waitress) or Socket Mode, with the scheduler beside it."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from waitress import create_server, wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer

from bot import app as application
from bot.app import Certdesk
from bot.config import Settings
from bot.edge import MAX_BODY
from bot.logs import AtMostEvery
from bot.migrating import migrate_apart
from bot.scheduler import ScheduledJobs, release_claims_of_this_process
from bot.socket_mode import SocketLink
from bot.stop_signals import on_stop_signal
from bot.web import wsgi_for

logger = logging.getLogger(__name__)

#: waitress buffers a whole body before the app sees it: refuse absurd ones (413) up front.
#: Slack's request URL has its own, smaller cap (bot.edge.MAX_BODY), with a log line.
LIMITS: dict[str, Any] = {"max_request_body_size": 4 * MAX_BODY}


@dataclass
class HttpServer:
    """certdesk's WSGI app served by waitress on a thread (the demo and tests use this too)."""

    certdesk: Certdesk
    server: BaseWSGIServer | MultiSocketServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:3000."""
        return f"http://127.0.0.1:{self.server.effective_port}"

    def stop(self) -> None:
        """Stop serving and finish background work (a second call does nothing)."""
        if not self.thread.is_alive():
            return
        server: Any = self.server
        # Close every socket (listener, keep-alive connections, the trigger) from the server's
        # own loop thread: closing under a running select() fails with EBADF, and a channel
        # left open would keep the loop, and its thread, alive.
        # A closed trigger (OSError) means the loop has already closed everything and is ending.
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        self.thread.join(timeout=5)
        server.task_dispatcher.shutdown()
        self.certdesk.services.background.shutdown()


#: waitress warns of a deep task queue as each request queues: once a minute is enough.
QUEUE_DEPTH_EVERY = 60.0


def http_server(wsgi: Any, *, host: str, port: int) -> MultiSocketServer | BaseWSGIServer:
    """waitress serving ``wsgi`` as certdesk is served: 8 threads, LIMITS, sparse warnings."""
    server = create_server(wsgi, host=host, port=port, threads=8, **LIMITS)
    dispatcher = server.task_dispatcher
    dispatcher.queue_logger = AtMostEvery(dispatcher.queue_logger, QUEUE_DEPTH_EVERY)
    return server


def start_http(certdesk: Certdesk, *, host: str = "127.0.0.1", port: int = 0) -> HttpServer:
    """Serve certdesk over HTTP with waitress on a background thread."""
    server = http_server(wsgi_for(certdesk), host=host, port=port)
    thread = threading.Thread(target=server.run, name="certdesk-http", daemon=True)
    thread.start()
    return HttpServer(certdesk=certdesk, server=server, thread=thread)


def serve(
    settings: Settings, *, host: str, port: int, socket_mode: bool = False, scheduler: bool = True
) -> bool:
    """Serve until SIGTERM or SIGINT (with the scheduler unless ``scheduler=False``).

    On SIGTERM the listening socket closes at once (a load balancer sends new requests to
    another replica), requests already received are answered, background work (a key being
    generated, a DM after an ack) finishes, and the scheduler stops and lets its lock go, each
    within CERTDESK_SHUTDOWN_GRACE. Returns whether everything finished in time; if not, the
    reminder claims of this process are handed back and the caller must exit at once.
    """
    grace = settings.shutdown_grace.total_seconds()
    migrate_apart(settings)
    certdesk = application.create(settings)
    # Socket Mode connects first, so a refused SLACK_APP_TOKEN stops before anything starts.
    link = _open_socket(certdesk) if socket_mode else None
    jobs = ScheduledJobs(certdesk.services) if scheduler else None
    if jobs is not None:
        jobs.start()
    try:
        wsgi = wsgi_for(certdesk)
        server = http_server(wsgi if link is None else link.wrap(wsgi), host=host, port=port)
        shutdown = GracefulShutdown(server, grace=grace)
        if threading.current_thread() is threading.main_thread():
            on_stop_signal(shutdown.stop, who="certdesk")
        path = "/healthz" if link else "/slack/events"
        logger.info("certdesk: serving http://%s:%s%s", host, server.effective_port, path)
        server.run()
        server.task_dispatcher.shutdown(timeout=max(grace, 1))
    finally:
        if link is not None:
            link.close()
        clean = jobs.stop() if jobs is not None else True
        clean = finish_background(certdesk, grace=grace) and clean
        if not clean:
            release_claims_of_this_process(certdesk.services)
        logger.info("certdesk: stopped")
    return clean


class GracefulShutdown:
    """Stops a waitress server the way a replica behind a load balancer should."""

    def __init__(self, server: BaseWSGIServer | MultiSocketServer, *, grace: float) -> None:
        self._server: Any = server
        self._grace = grace

    def stop(self) -> None:
        """Stop listening, wait for requests in flight (bounded), then close every channel."""
        server = self._server
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger(self._stop_listening)
        deadline = time.monotonic() + self._grace
        while time.monotonic() < deadline and self._busy():
            time.sleep(0.05)
        if self._busy():
            logger.warning("certdesk: requests still running after %.0f s; closing", self._grace)
        with contextlib.suppress(OSError):
            server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map()))

    def _map(self) -> dict:
        server = self._server
        return server.map if isinstance(server, MultiSocketServer) else server._map

    def _stop_listening(self) -> None:
        # The listener's own close() would close the trigger too, which is still needed.
        for dispatcher in list(self._map().values()):
            if isinstance(dispatcher, BaseWSGIServer):
                wasyncore.dispatcher.close(dispatcher)

    def _busy(self) -> bool:
        dispatcher: Any = self._server.task_dispatcher
        if dispatcher.active_count or dispatcher.queue:
            return True
        return any(
            getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0)
            for channel in list(self._map().values())
        )


def finish_background(certdesk: Certdesk, *, grace: float) -> bool:
    """Let work started after acks finish (at most ``grace`` seconds), then stop its threads.

    Returns whether it all finished.
    """
    background = certdesk.services.background
    try:
        background.drain(timeout=grace)
    except TimeoutError:
        # What is left is picked up after the restart: a submission is re-sent by the poll
        # sweep, a failed delivery by the redelivery sweep.
        logger.warning("certdesk: background work still running after %.0f s", grace)
        return False
    background.shutdown()
    return True


def _open_socket(certdesk: Certdesk) -> SocketLink:
    """Socket Mode: Slack's requests over a WebSocket; HTTP keeps /healthz and the CA pages."""
    try:
        link = SocketLink.open(certdesk)
    except BaseException:
        certdesk.services.background.shutdown()
        raise
    logger.info("certdesk: Socket Mode (connected: %s)", link.connected)
    return link
