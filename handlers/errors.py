"""The last line: anything a listener did not handle is logged with an incident id."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltResponse

from bot.services import Services
from handlers.replies import incident_id

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    """Install the global error handler."""

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        incident = incident_id()
        logger.error("incident %s: unhandled error", incident, exc_info=error)
        return BoltResponse(status=500, body=f"incident {incident}")
