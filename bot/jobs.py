"""Scheduled job functions: module-level and argument-free, so APScheduler can store them.

A job stored in the database names its function (``bot.jobs:poll_ca``), never the process's
objects; each run looks up this process's Services in the registry the scheduler fills.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from bot.orders import announcements
from bot.orders.key_files import delete_expired_key_files
from bot.orders.polling import poll_due
from bot.orders.reminding import send_due
from bot.orders.renewal import expire_due
from bot.services import Services
from storage.models import utcnow

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_services: Services | None = None


def set_services(services: Services | None) -> None:
    """Make ``services`` the ones this process's jobs run with (None: jobs do nothing)."""
    global _services
    with _lock:
        _services = services


def current_services() -> Services | None:
    """The Services jobs in this process run with, if the scheduler started here."""
    with _lock:
        return _services


#: A claim's token keeps the first TOKEN_WORKER_CHARS (40) characters of its worker id, so an
#: owner must be shorter: a long host name is cut, with a hash of it kept to tell hosts that
#: share a prefix apart (pods of one deployment all run as process 1).
_HOST_CHARS = 20


def process_owner() -> str:
    """How this process's claims begin: host and process id (at most 29 characters)."""
    host = socket.gethostname()
    if len(host) > _HOST_CHARS:
        host = f"{host[:11]}~{hashlib.sha256(host.encode()).hexdigest()[:8]}"
    return f"{host}:{os.getpid()}:"


def worker_id() -> str:
    """Who claims reminder rows: host, process and thread, so a claim names its owner."""
    return f"{process_owner()}{threading.get_ident()}"[:64]


def _run(name: str, work: Callable[[Services], Any]) -> Any:
    services = current_services()
    if services is None:
        logger.warning("job %s ran in a process without certdesk services; skipped", name)
        return None
    try:
        return work(services)
    except Exception:
        # APScheduler would log it too, but without our job's name; never let it kill the job.
        logger.exception("job %s failed; it runs again at its next time", name)
        return None


def poll_ca() -> Any:
    """Poll the CA for every in-flight order that is due."""
    return _run("poll_ca", lambda s: poll_due(s, now=utcnow()))


def send_reminders() -> Any:
    """Send the reminders that are due (bot.orders.reminding)."""
    return _run("send_reminders", lambda s: send_due(s, worker_id=worker_id(), now=utcnow()))


def expire_certificates() -> Any:
    """Move certificates past their not_after to `expired`."""
    return _run("expire_certificates", lambda s: expire_due(s, now=utcnow()))


def delete_key_files() -> Any:
    """Delete private-key files whose time in people's DMs is up (bot.orders.keys)."""
    return _run("delete_key_files", lambda s: delete_expired_key_files(s, now=utcnow()))


def deliver_owed() -> Any:
    """Send the outbox's due rows: every DM, notice and file Slack has not taken yet."""
    return _run("deliver_owed", lambda s: announcements.deliver_owed(s, now=utcnow()))
