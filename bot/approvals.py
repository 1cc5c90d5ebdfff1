"""Approval before the CA: the digest of an application, and who may decide on it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from enum import Enum
from typing import Any


class Role(Enum):
    """How a person may decide on an approval request."""

    NONE = "none"
    APPROVER = "approver"  # one of the request's approvers, not its requester
    OVERRIDE = "override"  # an admin deciding in the approvers' place, with a reason


def digest(application: Mapping[str, Any]) -> str:
    """SHA-256 of the application as the CA would receive it (keys sorted, so stable)."""
    canonical = json.dumps(application, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def role_of(
    user_id: str, *, requester: str, approvers: Collection[str], admins: Collection[str]
) -> Role:
    """Whether and how ``user_id`` may decide: a requester never approves their own order as
    an approver; an admin (the requester included) may override, giving a reason."""
    if user_id != requester and user_id in approvers:
        return Role.APPROVER
    if user_id in admins:
        return Role.OVERRIDE
    return Role.NONE
