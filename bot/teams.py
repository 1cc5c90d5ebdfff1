"""The workspace the current request or job acts for (OAuth mode serves many).

Set at the edge (a Bolt middleware, per request) and by sweeps (per order); read by the
per-workspace Notifier to pick the token and by order look-ups to refuse another team's order.
Work handed to the background pool keeps the workspace it was handed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("certdesk_team", default=None)


@contextmanager
def acting_for(team_id: str | None) -> Iterator[None]:
    """Run the block on behalf of ``team_id`` (None: no particular workspace)."""
    token = _current.set(team_id)
    try:
        yield
    finally:
        _current.reset(token)


def enter(team_id: str | None) -> None:
    """Act for ``team_id`` until the enclosing ``acting_for`` block ends.

    For Bolt's global middleware, which returns before the listeners run: the app's dispatch
    is wrapped in ``acting_for(None)`` so the value never outlives the request.
    """
    _current.set(team_id)


def current() -> str | None:
    """The workspace being served, if one was set."""
    return _current.get()
