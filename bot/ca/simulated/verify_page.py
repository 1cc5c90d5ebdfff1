"""The simulated CA's verification page: GET shows what the link confirms, POST confirms it.

The POST must carry the page's form token, an HMAC of the link's token under a key only
certdesk holds: a page on another site can make a browser POST to the link, but it cannot
read the page, so it cannot send the token. Opening the link (a GET, as mail scanners do)
confirms nothing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from bot.ca.pages import Page

#: The hidden field that carries the form token.
FORM_FIELD = "form_token"
_REFUSED = (
    "This confirmation was refused: it did not come from the verification page. Open the "
    "link in the verification email again and press Confirm there."
)


class Verifier(Protocol):
    """What the page asks of the CA."""

    def describe_link(self, token: str) -> tuple[bool, str]:
        """(can be confirmed?, what confirming would do)."""
        ...

    def confirm(self, token: str) -> tuple[bool, str]:
        """(verified?, what happened)."""
        ...


class FormTokens:
    """Form tokens for verification links, under a random key kept in ``key_file`` (0600)."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._key: bytes | None = None

    def token(self, link_token: str) -> str:
        """The form token for ``link_token``."""
        digest = hmac.new(self._secret(), b"sim-ca-verify:" + link_token.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")

    def valid(self, link_token: str, given: str) -> bool:
        """Whether ``given`` is the form token for ``link_token`` (compared in constant time)."""
        return bool(given) and hmac.compare_digest(self.token(link_token), given)

    def _secret(self) -> bytes:
        if self._key is None:
            if not self.key_file.exists():
                _create_key(self.key_file)
            self._key = bytes.fromhex(self.key_file.read_text().strip())
        return self._key


def _create_key(path: Path) -> None:
    """Write a new key 0600, appearing whole (a racing process keeps the first one)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32) + "\n")
    try:
        with contextlib.suppress(FileExistsError):
            os.link(staging, path)
    finally:
        staging.unlink()


def respond(
    ca: Verifier, tokens: FormTokens, method: str, link: str, form: Mapping[str, str]
) -> Page:
    """The page for ``method`` on the verification link whose token is ``link``."""
    if method == "POST":
        if not tokens.valid(link, form.get(FORM_FIELD, "")):
            return Page(403, _REFUSED)
        ok, sentence = ca.confirm(link)
        return Page(200 if ok else 410, sentence)
    ok, sentence = ca.describe_link(link)
    if not ok:
        return Page(410, sentence)
    return Page(200, sentence, button="Confirm", hidden=((FORM_FIELD, tokens.token(link)),))
