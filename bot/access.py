"""Who may do what to an order: the owner, watchers (read-only) and admins."""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import Enum

from bot.errors import NotAllowed, NotFound
from storage.models import Order, format_ref

_REF = re.compile(r"^\s*(?:cd-?)?0*(\d{1,9})\s*$", re.IGNORECASE)


class Need(Enum):
    """What the acting user wants to do."""

    VIEW = "view"
    ACT = "act"  # change the order, download its key, ...


def parse_ref(text: str) -> int:
    """Turn what a person typed ("CD-0042", "cd42", "42") into an order number."""
    match = _REF.match(text or "")
    if not match:
        raise NotFound(f"“{text.strip()}” is not an order ID. Order IDs look like CD-0042.")
    return int(match.group(1))


def may_act(order: Order, user_id: str, *, admins: Collection[str]) -> bool:
    """Whether ``user_id`` may change the order: its requester or an admin (not a watcher)."""
    return user_id == order.requester_id or user_id in admins


def check(
    order: Order | None, order_id: int, *, user_id: str, need: Need, admins: Collection[str]
) -> Order:
    """Return the order if ``user_id`` may ``need`` it; raise NotFound or NotAllowed otherwise."""
    ref = format_ref(order_id)
    if order is None:
        raise NotFound(f"There is no order {ref}. `/cert list` shows yours.")
    if may_act(order, user_id, admins=admins):
        return order
    watching = any(w.user_id == user_id for w in order.watchers)
    if watching and need is Need.VIEW:
        return order
    if watching:
        raise NotAllowed(
            f"You are watching {ref}, which lets you follow it but not change it. "
            f"Ask <@{order.requester_id}> to do this."
        )
    raise NotAllowed(f"You don't have access to {ref}. Ask its owner to add you as a watcher.")
