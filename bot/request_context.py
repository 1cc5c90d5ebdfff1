"""A Bolt middleware that puts the Slack request's team, id and order into the log context."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse

from bot import logs
from storage.models import format_ref

#: An order ref as people type it in a slash command ("status CD-0042").
_REF_IN_TEXT = re.compile(r"\bCD-?(\d{1,9})\b", re.IGNORECASE)
_DIGITS = re.compile(r"^\d{1,9}$")


def bind_request(
    body: dict[str, Any], context: BoltContext, next: Callable[[], BoltResponse]
) -> BoltResponse:
    """Set team, request id and order ref for this request's log records, then go on.

    Every field is set on every request (None when unknown), so nothing from an earlier
    request on the same thread survives; the HTTP edge also runs each request in a fresh
    context. The order ref is only ever an order number read as digits: never payload text.
    """
    bind(body, team=context.team_id or context.enterprise_id)
    return next()


def bind(body: dict[str, Any], *, team: str | None) -> None:
    """Set the log context for the request ``body`` of workspace ``team`` (see bind_request)."""
    logs.set_context(
        team=_safe_id(team),
        request_id=_safe_id(body.get("event_id")) or _fresh_id(),
        order_ref=order_ref(body),
    )


def order_ref(body: dict[str, Any]) -> str | None:
    """The order a request is about, when it says so plainly (a button, a modal, a command)."""
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        value = actions[0].get("value")
        if isinstance(value, str) and _DIGITS.match(value):
            return format_ref(int(value))
    view = body.get("view")
    if isinstance(view, dict) and isinstance(view.get("private_metadata"), str):
        try:
            meta = json.loads(view["private_metadata"])
        except ValueError:
            meta = None
        order_id = meta.get("order_id") if isinstance(meta, dict) else None
        if isinstance(order_id, int) and not isinstance(order_id, bool) and order_id > 0:
            return format_ref(order_id)
    text = body.get("text")
    if isinstance(text, str) and (match := _REF_IN_TEXT.search(text[:200])):
        return format_ref(int(match.group(1)))
    return None


_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def _safe_id(value: object) -> str | None:
    """An id as Slack sends them (T0123, Ev0123…); anything else is left out of the logs."""
    return value if isinstance(value, str) and _ID.match(value) else None


def _fresh_id() -> str:
    """16 hex digits telling one request's log lines from another's.

    Not ``uuid4``: it reads the kernel's random source, a system call on which every request
    let go of the GIL (and, under load, waited to get it back). A log id needs no secrecy.
    """
    return f"{random.getrandbits(64):016x}"
