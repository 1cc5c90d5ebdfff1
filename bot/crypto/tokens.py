"""Slack workspace tokens at rest: sealed like private keys, bound to workspace and field."""

from __future__ import annotations

from bot.crypto.custody import Custody, Sealed
from bot.errors import CustodyError

#: The token fields of an installation; a bot has the first two.
INSTALLATION_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
BOT_TOKENS = INSTALLATION_TOKENS[:2]
#: How a sealed value starts (``Sealed.to_text``); no Slack token starts so.
SEALED_PREFIX = "v1."


def sealed_key_id(value: str) -> str | None:
    """The master key id a stored token value is sealed under; None for a token stored plain
    (before sealing) or a damaged value (no key opens it)."""
    if not value.startswith(SEALED_PREFIX):
        return None
    try:
        return Sealed.from_text(value).key_id
    except CustodyError:
        return None


def token_context(enterprise_id: str | None, team_id: str | None, field: str) -> bytes:
    """Authenticated data binding a sealed token to its workspace and field."""
    return f"slack:{enterprise_id or ''}:{team_id or ''}:{field}".encode()


def seal_token(custody: Custody, value: str, *, context: bytes) -> str:
    """The sealed text of ``value`` (a value already sealed is re-sealed under the current key)."""
    if value.startswith(SEALED_PREFIX):
        return custody.reseal(Sealed.from_text(value), context=context).to_text()
    return custody.seal(value.encode(), context=context).to_text()


def open_token(custody: Custody, value: str, *, context: bytes) -> str:
    """The token behind a stored value (one stored before sealing is returned as it is)."""
    if not value.startswith(SEALED_PREFIX):
        return value
    return custody.open(Sealed.from_text(value), context=context).decode()
