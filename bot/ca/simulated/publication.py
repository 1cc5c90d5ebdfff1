"""certdesk's pages for the simulated CA's public objects: CA certificates and CRLs, DER."""

from __future__ import annotations

from datetime import datetime

from bot.ca.pages import Page
from bot.ca.simulated.authority import ISSUERS, Authority

#: RFC 2585 §4 media types for certificates and CRLs fetched over HTTP.
_TYPES = {".cer": "application/pkix-cert", ".crl": "application/pkix-crl"}


def publication_page(authority: Authority, method: str, name: str, *, now: datetime) -> Page:
    """``{root,issuing}-ca.cer`` or ``{root,issuing}-ca.crl``; 404 for any other name."""
    which, dash, rest = name.partition("-ca")
    suffix = rest if dash else ""
    if which not in ISSUERS or suffix not in _TYPES:
        return Page(404, "Not found.")
    if method != "GET":
        return Page(405, "Certificates and CRLs are fetched with GET.")
    body = (
        authority.certificate_der(which) if suffix == ".cer" else authority.crl_der(which, now=now)
    )
    return Page(200, "", body=body, content_type=_TYPES[suffix])
