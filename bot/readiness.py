"""/readyz: can this process do its work? Database, schema, Slack token and CA, each named.

Each check runs on its own thread with a deadline, so one that hangs (a database behind a
dropped route) answers "timed out" instead of holding the probe; a check still running from
an earlier probe is reported as such rather than started again. Results of the outside
checks (Slack, the CA) are kept for a while so probes every few seconds do not become
calls to Slack every few seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import text

from bot.errors import CAError
from bot.services import Services
from storage import db

#: Seconds a probe waits for the database (the engine's own deadline may be longer).
DATABASE_TIMEOUT = 1.0
#: Seconds it waits for Slack or the CA (the probe client's own timeout is 2 s).
OUTSIDE_TIMEOUT = 2.5


@dataclass
class Check:
    """One named check: ``run`` raises (or returns a reason) when it fails."""

    name: str
    run: Callable[[], str | None]
    #: Seconds a probe waits for an answer before reporting "timeout".
    timeout: float = DATABASE_TIMEOUT
    #: Seconds a passing result is reused; a failing one is reused for ``retry_after``.
    keep_ok: float = 0.0
    retry_after: float = 0.0
    _result: tuple[float, str | None] | None = field(default=None, repr=False)
    _running: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def result(self) -> str | None:
        """None when the check passes, else a short reason (no secrets, no stack)."""
        with self._lock:
            now = time.monotonic()
            if self._result is not None:
                at, reason = self._result
                if now - at < (self.keep_ok if reason is None else self.retry_after):
                    return reason
            if self._running is not None and self._running.is_alive():
                return "still checking since an earlier probe (it hung)"
            box: list[str | None] = []
            thread = threading.Thread(
                target=self._attempt, args=(box,), name=f"readyz-{self.name}", daemon=True
            )
            self._running = thread
            thread.start()
        thread.join(self.timeout)
        return box[0] if box else "timeout"

    def _attempt(self, box: list[str | None]) -> None:
        try:
            reason = self.run()
        except Exception as exc:  # noqa: BLE001 - a probe reports failures, it does not raise
            reason = _describe(exc)
        box.append(reason)
        with self._lock:
            self._result = (time.monotonic(), reason)


def _describe(exc: Exception) -> str:
    if isinstance(exc, CAError):
        return str(exc)
    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.get('error') or exc.response.status_code}"
    # Driver messages can carry connection strings; the exception type is enough to act on.
    return type(exc).__name__


class Readiness:
    """The checks behind /readyz, run together."""

    def __init__(self, checks: list[Check]) -> None:
        self.checks = checks

    @classmethod
    def for_services(cls, services: Services, *, slack: WebClient) -> Readiness:
        """database, schema, slack and ca for this process's services."""
        return cls(
            [
                Check("database", lambda: _database(services)),
                Check("schema", lambda: _schema(services)),
                Check(
                    "slack",
                    lambda: _slack(slack, oauth=services.settings.oauth),
                    timeout=OUTSIDE_TIMEOUT,
                    keep_ok=60.0,
                    retry_after=10.0,
                ),
                Check(
                    "ca",
                    lambda: _ca(services),
                    timeout=OUTSIDE_TIMEOUT,
                    keep_ok=30.0,
                    retry_after=10.0,
                ),
            ]
        )

    def report(self) -> tuple[bool, dict[str, object]]:
        """Whether all pass, and the JSON body: ``ok``, each check by name, the failing ones.

        e.g. {"ok": false, "database": "timeout", "schema": "timeout", "slack": "ok",
        "ca": "ok", "failing": ["database", "schema"]}
        """
        results: dict[str, str | None] = {}
        threads = [
            threading.Thread(target=lambda c=c: results.__setitem__(c.name, c.result()))
            for c in self.checks
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failing = [c.name for c in self.checks if results.get(c.name) is not None]
        body: dict[str, object] = {"ok": not failing}
        for check in self.checks:
            body[check.name] = results.get(check.name) or "ok"
        body["failing"] = failing
        return not failing, body


def _database(services: Services) -> None:
    with services.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _schema(services: Services) -> str | None:
    current, head = db.current_revision(services.engine), db.head_revision()
    if current != head:
        return f"schema at {current or 'nothing'}, needs {head}: run `certdesk db upgrade`"
    return None


def _slack(client: WebClient, *, oauth: bool = False) -> str | None:
    if oauth:
        # Many workspaces: no one token to check; each is checked when used. Slack itself
        # must answer (api.test needs no token).
        client.api_test()
        return None
    if not client.token:
        return "SLACK_BOT_TOKEN is not set"
    client.auth_test()  # SlackApiError (invalid_auth, token_revoked...) names what is wrong
    return None


def _ca(services: Services) -> None:
    services.ca.check()
