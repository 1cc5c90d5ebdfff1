"""How an order's CSR and private key are made: by certdesk, or by the requester."""

from __future__ import annotations

from enum import StrEnum


class CSRMethod(StrEnum):
    """Who makes the key pair behind the CSR."""

    #: certdesk makes the key (sealed at rest) and the CSR; the requester may download the key.
    GENERATED = "system"
    #: The requester made the key and uploaded the CSR; certdesk never sees the key.
    UPLOADED = "upload"


def certdesk_makes_key(method: str | None) -> bool:
    """Whether certdesk generates (and keeps) the private key for this method."""
    return method == CSRMethod.GENERATED
