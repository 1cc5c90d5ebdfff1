"""Running certdesk: the HTTP server (waitress) or Socket Mode, with the scheduler beside it."""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

from waitress import create_server, wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer

from bot import app as application
from bot.app import Certdesk
from bot.config import Settings
from bot.edge import MAX_BODY
from bot.socket_mode import SocketLink
from bot.web import make_wsgi_app

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


def start_http(certdesk: Certdesk, *, host: str = "127.0.0.1", port: int = 0) -> HttpServer:
    """Serve certdesk over HTTP with waitress on a background thread."""
    wsgi = make_wsgi_app(certdesk.app, certdesk.services, pages=certdesk.services.ca.pages())
    server = create_server(wsgi, host=host, port=port, threads=8, **LIMITS)
    thread = threading.Thread(target=server.run, name="certdesk-http", daemon=True)
    thread.start()
    return HttpServer(certdesk=certdesk, server=server, thread=thread)


def serve(
    settings: Settings, *, host: str, port: int, socket_mode: bool = False, scheduler: bool = True
) -> None:
    """Serve until interrupted (with the scheduler in this process unless ``scheduler=False``)."""
    from bot.scheduler import start_scheduler, stop_scheduler

    certdesk = application.create(settings)
    # Socket Mode connects first, so a refused SLACK_APP_TOKEN stops before anything starts.
    link = _open_socket(certdesk) if socket_mode else None
    jobs = start_scheduler(certdesk.services) if scheduler else None
    try:
        wsgi = make_wsgi_app(certdesk.app, certdesk.services, pages=certdesk.services.ca.pages())
        server = create_server(
            wsgi if link is None else link.wrap(wsgi), host=host, port=port, threads=8, **LIMITS
        )
        path = "/healthz" if link else "/slack/events"
        logger.info("certdesk: serving http://%s:%s%s", host, server.effective_port, path)
        server.run()
    finally:
        if link is not None:
            link.close()
        if jobs is not None:
            stop_scheduler(jobs)
        certdesk.services.background.shutdown()


def _open_socket(certdesk: Certdesk) -> SocketLink:
    """Socket Mode: Slack's requests over a WebSocket; HTTP keeps /healthz and the CA pages."""
    try:
        link = SocketLink.open(certdesk)
    except BaseException:
        certdesk.services.background.shutdown()
        raise
    logger.info("certdesk: Socket Mode (connected: %s)", link.connected)
    return link
