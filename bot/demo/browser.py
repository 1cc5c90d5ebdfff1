"""Following a verification link as a browser does: load the page, submit its form as it is."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin


@dataclass(frozen=True)
class Loaded:
    """A page as a browser got it: status, the sentence shown, and its form (if any)."""

    url: str
    status: int
    text: str
    form_fields: tuple[tuple[str, str], ...] | None
    form_action: str | None


class _Reader(HTMLParser):
    """Collects the page's first paragraph and its form's action and named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.fields: list[tuple[str, str]] | None = None
        self.action: str | None = None
        self._in_p = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "p":
            self._in_p = True
        elif tag == "form" and self.fields is None:
            self.fields, self.action = [], named.get("action") or ""
        elif tag == "input" and self.fields is not None and named.get("name"):
            self.fields.append((named["name"] or "", named.get("value") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_p = False

    def handle_data(self, data: str) -> None:
        if self._in_p:
            self.text.append(data)


def open_page(url: str, *, data: bytes | None = None, timeout: float = 10) -> Loaded:
    """GET (or POST ``data`` to) ``url``; error statuses are pages too."""
    request = urllib.request.Request(url, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    reader = _Reader()
    reader.feed(body.decode("utf-8", "replace"))
    fields = tuple(reader.fields) if reader.fields is not None else None
    return Loaded(url, status, "".join(reader.text).strip(), fields, reader.action)


def press_button(page: Loaded, *, timeout: float = 10) -> Loaded:
    """Submit the page's form with the fields it holds (hidden ones included), as a browser."""
    if page.form_fields is None:
        raise ValueError(f"the page at {page.url} has no form: {page.text}")
    target = urljoin(page.url, page.form_action or page.url)
    return open_page(target, data=urlencode(page.form_fields).encode(), timeout=timeout)
