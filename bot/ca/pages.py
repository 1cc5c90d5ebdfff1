"""Web pages a CA backend serves through certdesk (the simulated CA's verification links)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """A small HTML page: a sentence, and optionally one button that POSTs back to it."""

    status: int
    message: str
    button: str | None = None


#: Routes by path prefix: handler(method, rest of the path) -> Page.
PageHandler = Callable[[str, str], Page]
