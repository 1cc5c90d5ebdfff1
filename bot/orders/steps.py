"""The validation steps a CA names right after submission: fetched once, kept for the DM."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from bot.ca.base import CAState, Validation
from bot.errors import CAError
from bot.services import Services

logger = logging.getLogger(__name__)

#: How long to wait for a CA's first validation steps (records to publish) after submitting,
#: so the submission DM can name them; Alibaba Cloud lists them a few seconds after applying.
FIRST_STEPS_WAIT = 8.0
FIRST_STEPS_INTERVAL = 0.25
_FIELDS = ("domain", "method", "record_name", "record_type", "record_value", "url", "content")


def first_steps(services: Services, ca_ref: str) -> tuple[Validation, ...]:
    """The records or files the CA wants published, if it names them within a few seconds.

    Only for CAs that validate by DNS records or files (an email CA's steps are its email).
    Best effort: CA trouble here leaves the DM without them (the reminders show them).
    """
    if services.ca.emails_applicant:
        return ()
    deadline = time.monotonic() + FIRST_STEPS_WAIT
    while True:
        try:
            status = services.ca.status(ca_ref)
        except CAError as exc:
            logger.info("first validation steps of %s not fetched: %s", ca_ref, exc)
            return ()
        if status.validations or status.state is not CAState.REVIEWING:
            return tuple(v for v in status.validations if v.method in ("dns-01", "http-01"))
        if time.monotonic() >= deadline:
            return ()
        time.sleep(FIRST_STEPS_INTERVAL)


def as_records(found: tuple[Validation, ...]) -> list[dict[str, str]]:
    """Validations as JSON-ready dicts, for the audit record."""
    return [{f: str(getattr(v, f)) for f in _FIELDS if getattr(v, f) is not None} for v in found]


def from_records(detail: Mapping[str, Any]) -> tuple[Validation, ...]:
    """The validation steps recorded with ``sent_to_ca`` (see ``as_records``)."""
    found = []
    for raw in detail.get("steps") or ():
        if isinstance(raw, dict) and raw.get("domain") and raw.get("method"):
            text = {k: str(raw[k]) if raw.get(k) is not None else None for k in _FIELDS}
            found.append(
                Validation(
                    domain=str(raw["domain"]),
                    method=str(raw["method"]),
                    record_name=text["record_name"],
                    record_type=text["record_type"],
                    record_value=text["record_value"],
                    url=text["url"],
                    content=text["content"],
                )
            )
    return tuple(found)
