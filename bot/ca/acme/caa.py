"""The issuer domains an ACME CA is known by in CAA records (RFC 8555 §7.1.1, RFC 8659 §4.2)."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from acme import messages

logger = logging.getLogger(__name__)

#: Issuer domains well-known ACME CAs honour in CAA records, by directory host suffix: used
#: when the directory itself does not publish ``meta.caaIdentities``.
KNOWN_CAA_IDENTITIES = {
    "letsencrypt.org": ("letsencrypt.org",),
    "zerossl.com": ("sectigo.com",),
    "pki.goog": ("pki.goog",),
    "buypass.com": ("buypass.com",),
}
# RFC 8659 §4.2 issuer-domain-name: labels of letters, digits and inner hyphens.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ISSUER_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
#: A directory listing more identities than this is not describing one CA.
_MAX_IDENTITIES = 20


def known_identities(directory_url: str) -> tuple[str, ...]:
    """The table's identities for the CA serving ``directory_url``, else ()."""
    host = (urlsplit(directory_url).hostname or "").lower()
    for suffix, identities in KNOWN_CAA_IDENTITIES.items():
        if host == suffix or host.endswith("." + suffix):
            return identities
    return ()


def published_identities(directory: messages.Directory) -> tuple[str, ...]:
    """The directory's ``meta.caaIdentities``, normalised; () when absent or unusable.

    The directory is the CA's word, but still input from the network: anything that is
    not a list of issuer domain names is ignored (and logged) rather than trusted.
    """
    meta = getattr(directory, "meta", None)
    raw = getattr(meta, "caa_identities", None) if meta is not None else None
    if raw is None:
        return ()
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        logger.warning("ignoring the ACME directory's caaIdentities: not a list")
        return ()
    found: list[str] = []
    for value in raw[:_MAX_IDENTITIES]:
        name = value.strip().rstrip(".").lower() if isinstance(value, str) else ""
        if len(name) > 253 or not _ISSUER_DOMAIN.fullmatch(name):
            logger.warning("ignoring a caaIdentities entry that is not a domain name")
            continue
        if name not in found:
            found.append(name)
    return tuple(found)
