"""Downloading a private key: the formats offered and the checks on the download modal.

Field names are the modal's block ids, so errors land on the right input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import FieldErrors

KEY_FORMAT = "key_format"
KEY_PASSPHRASE = "key_passphrase"
KEY_PASSPHRASE_AGAIN = "key_passphrase_again"
KEY_PLAIN_OK = "key_plain_ok"

#: Download formats, by the value the modal sends.
PFX, PEM_ENCRYPTED, PEM_PLAIN = "pfx", "pem_encrypted", "pem_plain"
#: How each format is named in the title of the file in Slack.
TITLE_WORDS = {
    PFX: "PFX, passphrase-protected",
    PEM_ENCRYPTED: "PEM, passphrase-protected",
    PEM_PLAIN: "PEM, no passphrase",
}
#: Long enough to resist guessing against a file anyone in the DM could copy.
MIN_PASSPHRASE = 12


@dataclass(frozen=True)
class KeyRequest:
    """A checked download request: the format and, unless plain, the passphrase."""

    order_id: int
    fmt: str
    passphrase: str | None

    def __repr__(self) -> str:  # never show the passphrase, even in a traceback or a debugger
        return f"KeyRequest(order_id={self.order_id}, fmt={self.fmt!r})"


def formats_for(*, issued: bool) -> list[str]:
    """The formats offered: PFX only once the CA has issued the certificate chain."""
    offered = [PEM_ENCRYPTED, PEM_PLAIN]
    return [PFX, *offered] if issued else offered


def check_request(order_id: int, raw: Mapping[str, Any], *, issued: bool) -> KeyRequest:
    """Check the download modal's values; FieldErrors keyed by block id for anything wrong."""
    fmt = raw.get(KEY_FORMAT)
    errors: dict[str, str] = {}
    if fmt not in formats_for(issued=issued):
        if fmt == PFX:
            errors[KEY_FORMAT] = (
                "PFX bundles the key with the certificate, which the CA has not issued yet. "
                "Choose PEM now, or come back after issuance."
            )
        else:
            errors[KEY_FORMAT] = "Choose a format."
        raise FieldErrors(errors)
    if fmt == PEM_PLAIN:
        if not raw.get(KEY_PLAIN_OK):
            errors[KEY_PLAIN_OK] = (
                "Tick the box to confirm you want the key without a passphrase, or choose "
                "a passphrase-protected format."
            )
            raise FieldErrors(errors)
        return KeyRequest(order_id=order_id, fmt=fmt, passphrase=None)
    passphrase = raw.get(KEY_PASSPHRASE) or ""
    again = raw.get(KEY_PASSPHRASE_AGAIN) or ""
    if len(passphrase) < MIN_PASSPHRASE:
        errors[KEY_PASSPHRASE] = (
            f"Use at least {MIN_PASSPHRASE} characters (it has {len(passphrase)}): "
            "a few words you can remember work well."
        )
    elif again != passphrase:
        errors[KEY_PASSPHRASE_AGAIN] = "The two passphrases differ: type the same one twice."
    if errors:
        raise FieldErrors(errors)
    return KeyRequest(order_id=order_id, fmt=fmt, passphrase=passphrase)
