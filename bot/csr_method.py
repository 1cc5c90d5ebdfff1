"""How an order's CSR and private key are made: by certdesk, by the CA, or by the requester."""

from __future__ import annotations

from enum import StrEnum


class CSRMethod(StrEnum):
    """Who makes the key pair behind the CSR."""

    #: certdesk makes the key (sealed at rest) and the CSR; the requester may download the key.
    GENERATED = "system"
    #: The requester made the key and uploaded the CSR; certdesk never sees the key.
    UPLOADED = "upload"
    #: The CA makes the key and the CSR (CAs whose cloud deploys certificates need the key);
    #: certdesk fetches the key on issuance and seals it like its own.
    CA_GENERATED = "ca"


def certdesk_makes_key(method: str | None) -> bool:
    """Whether certdesk generates (and keeps) the private key for this method."""
    return method == CSRMethod.GENERATED


def certdesk_holds_key(method: str | None) -> bool:
    """Whether certdesk keeps the order's private key sealed (made by itself or by the CA)."""
    return method in _HELD


# A set built once: a list card asks for each order it shows.
_HELD = frozenset({CSRMethod.GENERATED, CSRMethod.CA_GENERATED})
