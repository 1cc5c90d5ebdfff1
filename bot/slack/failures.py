"""Slack's failures translated into certdesk's own error type, decided by type and status."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from slack_sdk.errors import SlackApiError

from bot.errors import SlackError


def translate(exc: SlackApiError | OSError, *, what: str) -> SlackError:
    """A SlackError saying whether ``what`` may be tried again and may have happened anyway."""
    if isinstance(exc, OSError):
        # Connection refused, reset or timed out: the request may have reached Slack.
        return SlackError(
            f"Slack could not be reached for {what}: {exc}", retryable=True, maybe_delivered=True
        )
    status = exc.response.status_code
    code = str(exc.response.get("error") or "") if isinstance(exc.response.data, dict) else ""
    retry_after = _retry_after(exc)
    return SlackError(
        f"Slack refused {what}: {code or status}",
        code=code,
        retryable=status == 429 or status >= 500,
        maybe_delivered=status >= 500,  # a 5xx may come after Slack stored the message
        retry_after=retry_after,
    )


@contextlib.contextmanager
def calling(what: str) -> Iterator[None]:
    """Run a Slack call, raising SlackError for whatever Slack or the network answered."""
    try:
        yield
    except (SlackApiError, OSError) as exc:
        raise translate(exc, what=what) from exc


def _retry_after(exc: SlackApiError) -> float | None:
    headers = exc.response.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    return float(value) if value and str(value).isdigit() else None
