"""Counting Slack Web API requests from inside slack_sdk's retry loop.

slack_sdk asks every retry handler about every attempt (answered, refused or unreachable)
before deciding to retry. A handler that never retries but counts what it is shown sees each
request once, 429s included, and Bolt copies the handler list into the client it makes for
each incoming request, so listeners' calls are counted too.
"""

from __future__ import annotations

from slack_sdk.http_retry import RetryHandler, RetryState
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse

from bot import metrics


class CountingHandler(RetryHandler):
    """Counts each attempt by method and outcome; never asks for a retry itself.

    Put it first in ``retry_handlers``: slack_sdk stops asking at the first handler that
    retries.
    """

    def __init__(self) -> None:
        # can_retry only consults _can_retry below this many attempts: never stop counting.
        super().__init__(max_retry_count=1 << 30)

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        metrics.slack_call(request.url, outcome(response))
        return False


def outcome(response: HttpResponse | None) -> str:
    """ok, error (Slack answered ok=false), rate_limited, server_error or unreachable."""
    if response is None:
        return "unreachable"
    if response.status_code == 429:
        return "rate_limited"
    if response.status_code >= 500:
        return "server_error"
    if response.status_code >= 400:
        return "error"
    body = response.body if isinstance(response.body, dict) else {}
    return "error" if body.get("ok") is False else "ok"
