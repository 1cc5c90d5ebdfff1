"""Logging set-up: readable text by default, or one JSON object per line (LOG_FORMAT=json).

Each record carries what is known about the work it belongs to (the order's ref, the Slack
request, the team) from a context set at the edges: the Slack request, a CA call, a sweep.
``contextvars`` keeps it per thread and per request, and Background copies it into the work
it runs after the ack.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: The context fields, as they appear on log records and in JSON lines.
FIELDS = ("order_ref", "request_id", "team")

_vars: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"certdesk_{name}", default=None) for name in FIELDS
}


def current() -> dict[str, str]:
    """The context fields set now (unset ones left out)."""
    return {name: value for name, var in _vars.items() if (value := var.get()) is not None}


def set_context(**values: str | None) -> None:
    """Set context fields for the rest of this context (None clears one)."""
    for name, value in values.items():
        _vars[name].set(value)


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Set context fields for the duration of the block, then restore them."""
    tokens = [(_vars[name], _vars[name].set(value)) for name, value in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Puts the context fields on every record (None where unknown) for formatters to use."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _vars.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class AtMostEvery:
    """Stands in for ``logger`` where it warns once per request: one warning goes through
    every ``seconds``, and the next one through says how many were held back since.

    For waitress's "Task queue depth is N", said as each request queues under load: building,
    formatting and writing that line every time made an overloaded server slower still, and
    buried every other line. A held warning costs a clock read (no log record is made).
    """

    def __init__(
        self, logger: logging.Logger, seconds: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.logger = logger
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._next = float("-inf")
        self._held = 0

    def warning(self, message: str, *args: object) -> None:
        """``logger.warning``, unless one went through less than ``seconds`` ago."""
        now = self.clock()
        with self._lock:
            if now < self._next:
                self._held += 1
                return
            held, self._held, self._next = self._held, 0, now + self.seconds
        if held:
            message += f" (and {held} more like it since the last one)"
        self.logger.warning(message, *args)


def handler(fmt: str, *, stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) in ``fmt`` ("text" or "json") with the context."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    out.addFilter(ContextFilter())
    return out


def configure(*, level: str, fmt: str) -> None:
    """Send every logger's records to stderr at ``level`` in ``fmt`` (replacing our earlier one)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "certdesk", False):  # ours from an earlier call
            root.removeHandler(old)
    if root.handlers:
        # Someone else configured logging first (a test runner, an embedding program): as
        # logging.basicConfig does, leave theirs in charge rather than log everything twice.
        return
    ours = handler(fmt)
    ours.certdesk = True  # type: ignore[attr-defined]
    root.addHandler(ours)
    root.setLevel(level)
