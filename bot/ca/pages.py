"""Web pages a CA backend serves through certdesk (the simulated CA's verification links)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """A small HTML page: a sentence, and optionally one button that POSTs back to it.

    With ``body`` set, the response is those bytes as ``content_type`` instead (a CRL, a
    certificate); ``message`` and ``button`` are then unused.
    """

    status: int
    message: str
    button: str | None = None
    body: bytes | None = None
    content_type: str = "text/html; charset=utf-8"


#: Routes by path prefix: handler(method, rest of the path) -> Page.
PageHandler = Callable[[str, str], Page]
