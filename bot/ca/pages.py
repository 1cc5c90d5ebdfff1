"""Web pages a CA backend serves through certdesk (the simulated CA's verification links)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """A small HTML page: a sentence, and optionally one button that POSTs back to it.

    With ``body`` set, the response is those bytes as ``content_type`` instead (a CRL, a
    certificate); ``message`` and ``button`` are then unused. ``hidden`` fields go into the
    button's form (a per-link form token), so the POST that confirms carries something only a
    person who loaded the page can send.
    """

    status: int
    message: str
    button: str | None = None
    body: bytes | None = None
    content_type: str = "text/html; charset=utf-8"
    hidden: tuple[tuple[str, str], ...] = ()


#: Routes by path prefix: handler(method, rest of the path, submitted form fields) -> Page.
#: A GET has an empty form; a POST's form is its url-encoded body, first value per name.
PageHandler = Callable[[str, str, Mapping[str, str]], Page]
