"""The organization an OV or EV certificate names (plain data, shared by the form, CSRs and CAs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Organization:
    """The organization an OV or EV certificate is issued to."""

    legal_name: str
    country: str
    state: str
    city: str
    street: str
    postal_code: str
    phone: str
