"""The operator's HTTP answers: /readyz (JSON, 200 or 503) and /metrics (Prometheus text)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from bot import metrics
from bot.readiness import Readiness
from bot.services import Services

StartResponse = Callable[..., Any]
logger = logging.getLogger(__name__)


def readyz(readiness: Readiness, start_response: StartResponse) -> Iterable[bytes]:
    """200 with every check "ok", or 503 naming the failing checks and why."""
    ready, body = readiness.report()
    if not ready:
        logger.warning("not ready: %s", body)
    status = "200 OK" if ready else "503 Service Unavailable"
    start_response(status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
    return [json.dumps(body).encode()]


def metrics_page(services: Services, start_response: StartResponse) -> Iterable[bytes]:
    """The Prometheus exposition for this process (and its siblings in multiprocess mode)."""
    body, content_type = metrics.render(services.sessions)
    start_response("200 OK", [("Content-Type", content_type)])
    return [body]
