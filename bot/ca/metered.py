"""A CABackend that counts every call by operation and outcome and times it (bot.metrics)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from bot import logs, metrics
from bot.ca.base import CABackend, CAStatus, Purchase, Submission, VerificationEmail
from bot.ca.pages import PageHandler
from bot.errors import CAError

T = TypeVar("T")
_OWN = frozenset({"inner", "name", "caa_identities", "emails_applicant"})


class MeteredCA(CABackend):
    """Wraps a backend: same answers and errors, plus certdesk_ca_calls/_call_seconds.

    Attributes particular to a backend (the simulated CA's ``confirm``, say) pass through.
    """

    def __init__(self, inner: CABackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.caa_identities = inner.caa_identities
        self.emails_applicant = inner.emails_applicant

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes MeteredCA lacks: the backend's own extras.
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # The backend's own state (the simulated CA's clock, say) is set on the backend;
        # anything else, a replaced method included, on the wrapper.
        if name not in _OWN and "inner" in self.__dict__ and name in vars(self.inner):
            setattr(self.inner, name, value)
        else:
            object.__setattr__(self, name, value)

    @contextmanager
    def _timed(self, operation: str) -> Iterator[None]:
        began, outcome = time.perf_counter(), "error"
        try:
            yield
            outcome = "ok"
        except CAError as exc:
            outcome = "unavailable" if exc.retryable else "refused"
            raise
        finally:
            metrics.ca_call(self.name, operation, outcome, time.perf_counter() - began)

    def _call(self, operation: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self._timed(operation):
            return fn(*args, **kwargs)

    def submit(self, submission: Submission) -> str:
        """Send the order for review (counted; the backend's log lines name the order)."""
        with logs.bound(order_ref=submission.order_ref):
            return self._call("submit", self.inner.submit, submission)

    def status(self, ca_ref: str) -> CAStatus:
        """Where the order stands (counted)."""
        return self._call("status", self.inner.status, ca_ref)

    def resend_verification(self, ca_ref: str) -> None:
        """Send the verification again (counted)."""
        self._call("resend_verification", self.inner.resend_verification, ca_ref)

    def request_validation(self, ca_ref: str) -> None:
        """Ask the CA to validate now (counted)."""
        self._call("request_validation", self.inner.request_validation, ca_ref)

    def cancel(self, ca_ref: str) -> None:
        """Withdraw the order (counted)."""
        self._call("cancel", self.inner.cancel, ca_ref)

    def fetch_certificate(self, ca_ref: str) -> bytes:
        """The issued chain (counted)."""
        return self._call("fetch_certificate", self.inner.fetch_certificate, ca_ref)

    def revoke(self, ca_ref: str, certificate_pem: bytes, *, reason: int = 0) -> None:
        """Revoke a certificate (counted)."""
        self._call("revoke", self.inner.revoke, ca_ref, certificate_pem, reason=reason)

    def check(self) -> None:
        """Whether the CA is reachable (counted, so probes show up beside real calls)."""
        self._call("check", self.inner.check)

    def purchases(self) -> list[Purchase]:
        """The account's purchases not yet applied for (counted: it asks the CA)."""
        return self._call("purchases", self.inner.purchases)

    def contacts_applicant(self, product: str) -> bool:
        """Whether the CA contacts the applicant while reviewing (no CA call)."""
        return self.inner.contacts_applicant(product)

    def fetch_private_key(self, ca_ref: str) -> bytes | None:
        """The key the CA generated for the order, if it holds one (counted)."""
        return self._call("fetch_private_key", self.inner.fetch_private_key, ca_ref)

    def verification_email(self, ca_ref: str, domains: list[str]) -> VerificationEmail | None:
        """What the backend says its verification email looks like (no CA call: not counted)."""
        return self.inner.verification_email(ca_ref, domains)

    def pages(self) -> dict[str, PageHandler]:
        """The backend's own pages, unchanged."""
        return self.inner.pages()
