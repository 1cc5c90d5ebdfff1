"""Running certdesk: the HTTP server (waitress) or Socket Mode, with the scheduler beside it."""

from __future__ import annotations

import logging

from waitress import create_server

from bot import app as application
from bot.config import Settings
from bot.web import make_wsgi_app

logger = logging.getLogger(__name__)


def serve(
    settings: Settings, *, host: str, port: int, socket_mode: bool = False, scheduler: bool = True
) -> None:
    """Serve until interrupted."""
    certdesk = application.create(settings)
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        logger.info("certdesk: Socket Mode")
        SocketModeHandler(certdesk.app, settings.slack_app_token).start()
        return
    wsgi = make_wsgi_app(certdesk.app, certdesk.services)
    server = create_server(wsgi, host=host, port=port, threads=8)
    logger.info("certdesk: serving http://%s:%s/slack/events", host, server.effective_port)
    try:
        server.run()
    finally:
        certdesk.services.background.shutdown()
