"""The simulated CA: review delay, email domain verification, real certificates from a local root.

Lifecycle of one order (every step driven by the injected clock, lazily, when asked):

- ``submit`` checks the submission as a CA's order API would (product, applicant email,
  organization for OV/EV, the CSR parses, is signed, has a strong key and names exactly the
  order's domains) and returns ``SIM-<random>``. State ``reviewing``.
- Once ``review_delay`` has passed, the first ``status`` call ends the review. It passes,
  or it is *rejected* (below). Passing writes the verification email into the Maildir
  ``data_dir/mail`` with a link ``{public_url}/sim-ca/verify/{token}``; state
  ``awaiting_verification``. The link works for ``verification_window`` from then;
  ``resend_verification`` sends a new email and the old link stops working.
- ``confirm(token)`` (certdesk's web route calls it when the link is opened) marks the
  domains verified and issues the certificate at once: state ``issued``. If the window
  passes first, the state is ``failed``.

Rejection: ``reject(ca_ref, reason)`` fails an order by hand (tests, a CLI). For demos, a
submission whose organization legal name or first domain starts with ``reject-`` is
rejected at the end of review with a realistic reason. Either way the state is ``failed``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bot.ca.base import (
    CABackend,
    CAState,
    CAStatus,
    Organization,
    StateStore,
    Submission,
    Validation,
    VerificationEmail,
    certificate_to_revoke,
)
from bot.ca.pages import Page, PageHandler
from bot.ca.simulated import mailer, review, verify_page
from bot.ca.simulated.authority import Authority
from bot.ca.simulated.profile import PKI_PATH
from bot.ca.simulated.publication import publication_page
from bot.errors import CAError

_ALIVE = (CAState.REVIEWING, CAState.AWAITING_VERIFICATION)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SimulatedCA(CABackend):
    """An embedded CA that behaves like a commercial one (see the module docstring)."""

    name = "simulated"
    caa_identities = ("certdesk.invalid",)

    def __init__(
        self,
        *,
        data_dir: Path,
        public_url: str,
        store: StateStore,
        review_delay: timedelta,
        verification_window: timedelta = timedelta(days=30),
        validity: timedelta = timedelta(days=90),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.data_dir = data_dir
        self.mail_dir = data_dir / "mail"
        self.public_url = public_url.rstrip("/")
        self.store = store
        self.review_delay = review_delay
        self.verification_window = verification_window
        self.validity = validity
        self.clock = clock
        self._authority: Authority | None = None
        #: Keys the verification page's form tokens (a file beside the CA's own keys).
        self.form_tokens = verify_page.FormTokens(data_dir / "simulated-ca-forms.key")

    # --- the CABackend interface -------------------------------------------------------------

    def submit(self, submission: Submission) -> str:
        """Check and accept the order for review; raise CAError (not retryable) if refused.

        A repeat of a submission with the same idempotency key returns the first one's
        reference and creates nothing.
        """
        review.check_submission(submission)
        _ = self.authority  # create the CA's own keys now, not in the middle of a later call
        if submission.idempotency_key:
            # The reference is derived from the key, so a repeat finds the order it made.
            digest = hashlib.sha256(submission.idempotency_key.encode()).hexdigest()
            ca_ref = "SIM-" + digest[:10].upper()
            if self.store.load(ca_ref) is not None:
                return ca_ref
        else:
            ca_ref = "SIM-" + secrets.token_hex(5).upper()
        submitted = dataclasses.asdict(submission)
        submitted["csr_pem"] = submission.csr_pem.decode("ascii")
        submitted["domains"] = list(submission.domains)
        self.store.save(
            ca_ref,
            {
                "state": CAState.REVIEWING.value,
                "submission": submitted,
                "submitted_at": self._now().isoformat(),
                "reason": None,
                "token_hash": None,
                "old_token_hashes": [],
                "emails_sent": 0,
                "verification_started": None,
                "verified_at": None,
                "certificate_pem": None,
            },
        )
        return ca_ref

    def status(self, ca_ref: str) -> CAStatus:
        """Where the order stands; ends the review or the verification window when due."""
        data = self._advance(ca_ref)
        state = CAState(data["state"])
        validations: tuple[Validation, ...] = ()
        if state in (CAState.AWAITING_VERIFICATION, CAState.ISSUED):
            email = data["submission"]["applicant_email"]
            done = state is CAState.ISSUED
            validations = tuple(
                Validation(domain=d, method="email", mailbox=email, done=done)
                for d in data["submission"]["domains"]
            )
        return CAStatus(state=state, validations=validations, reason=data["reason"])

    def resend_verification(self, ca_ref: str) -> None:
        """Send a new verification email; the link in earlier ones stops working."""
        data = self._advance(ca_ref)
        if data["state"] != CAState.AWAITING_VERIFICATION:
            raise CAError(
                f"Order {ca_ref} is not waiting for domain verification "
                f"(it is {data['state'].replace('_', ' ')}), so no email was sent."
            )
        self._send_email(ca_ref, data)

    def cancel(self, ca_ref: str) -> None:
        """Withdraw the order; cancelling twice is harmless, an issued order cannot be."""
        data = self._advance(ca_ref)
        if data["state"] == CAState.ISSUED:
            raise CAError(f"Order {ca_ref} was already issued; revoke the certificate instead.")
        if data["state"] != CAState.CANCELLED:
            data.update(state=CAState.CANCELLED.value)
            self.store.save(ca_ref, data)

    def fetch_certificate(self, ca_ref: str) -> bytes:
        """The issued chain as PEM: leaf, issuing CA, root."""
        data = self._advance(ca_ref)
        if data["state"] != CAState.ISSUED:
            raise CAError(
                f"Order {ca_ref} has no certificate yet (it is {data['state'].replace('_', ' ')})."
            )
        return data["certificate_pem"].encode("ascii") + self.authority.chain_pem()

    def revoke(self, ca_ref: str, certificate_pem: bytes, *, reason: int = 0) -> None:
        """Record the order's certificate as revoked (RFC 5280 reason code); CAError if not it."""
        data = self._advance(ca_ref)
        if data["state"] != CAState.ISSUED or not data["certificate_pem"]:
            raise CAError(f"Order {ca_ref} has no issued certificate to revoke.")
        given = certificate_to_revoke(certificate_pem)
        ours = x509.load_pem_x509_certificate(data["certificate_pem"].encode("ascii"))
        if given.serial_number != ours.serial_number:
            raise CAError(f"That certificate is not the one issued for order {ca_ref}.")
        if not data.get("revoked_at"):  # revoking twice is harmless
            now = self._now()
            # The CRL's record first: it refuses reasons a CA would not accept (CAError).
            self.authority.revoke(ours.serial_number, at=now, reason=reason)
            data.update(revoked_at=now.isoformat(), revocation_reason=reason)
            self.store.save(ca_ref, data)

    def verification_email(self, ca_ref: str, domains: list[str]) -> VerificationEmail | None:
        """The simulated CA's email: its sender and the subject naming the domains."""
        return VerificationEmail(mailer.SENDER, mailer.subject_for(domains, ca_ref=ca_ref))

    def pages(self) -> dict[str, PageHandler]:
        """The verification link's page, and the CA certificates and CRLs (``PKI_PATH``).

        Opening a link only shows what it would confirm; the person confirms with a button (a
        POST carrying the page's form token), so mail scanners that open every link, and
        other sites posting to it, cannot verify a domain by themselves.
        """
        return {"/sim-ca/verify/": self._verify_page, PKI_PATH: self._pki_page}

    def _pki_page(self, method: str, name: str, form: Mapping[str, str]) -> Page:
        return publication_page(self.authority, method, name, now=self._now())

    def _verify_page(self, method: str, token: str, form: Mapping[str, str]) -> Page:
        return verify_page.respond(self, self.form_tokens, method, token, form)

    # --- beyond the interface ----------------------------------------------------------------

    def confirm(self, token: str) -> tuple[bool, str]:
        """Act on a confirmed verification link; return (verified?, a sentence for the browser)."""
        data, problem = self._link(token)
        if data is None:
            return False, problem
        if problem:
            return CAState(data["state"]) is CAState.ISSUED, problem
        self._issue(data)
        self.store.save(data["ca_ref"], data)
        domains = ", ".join(data["submission"]["domains"])
        return (
            True,
            f"Thank you: control of {domains} is confirmed and the certificate for order "
            f"{data['ca_ref']} has been issued. certdesk will deliver it to you in Slack.",
        )

    def describe_link(self, token: str) -> tuple[bool, str]:
        """What confirming the link would do, without doing it (mail scanners open links too).

        Returns (can be confirmed?, a sentence for the page that asks the person to confirm).
        """
        data, problem = self._link(token)
        if data is None or problem:
            return False, problem
        domains = ", ".join(data["submission"]["domains"])
        return True, f"Confirm that you control {domains} (order {data['ca_ref']})."

    def _link(self, token: str) -> tuple[dict | None, str]:
        """The order a link belongs to, and why it cannot be confirmed now ("" if it can)."""
        ca_ref, _, secret = token.partition(".")
        invalid = (
            "This verification link is not valid. Open the link in the most recent "
            "verification email, exactly as it was sent."
        )
        if not ca_ref.startswith("SIM-") or not secret or self.store.load(ca_ref) is None:
            return None, invalid
        data = self._advance(ca_ref)
        data["ca_ref"] = ca_ref
        given = _hash(secret)
        state = CAState(data["state"])
        current = data["token_hash"] is not None and hmac.compare_digest(given, data["token_hash"])
        known = current or any(hmac.compare_digest(given, h) for h in data["old_token_hashes"])
        if not known:
            return None, invalid
        domains = ", ".join(data["submission"]["domains"])
        if state is CAState.ISSUED:
            return data, f"Control of {domains} is already confirmed; the certificate was issued."
        if state is CAState.CANCELLED:
            return data, f"Order {ca_ref} was cancelled, so there is nothing to verify."
        if state is CAState.FAILED:
            return data, f"This link no longer works: {data['reason']}"
        if not current:
            return data, (
                "This link was replaced by a newer verification email. "
                "Open the link in the most recent email."
            )
        return data, ""

    def reject(self, ca_ref: str, reason: str) -> None:
        """Fail an order under review or verification with ``reason`` (tests, the CLI)."""
        data = self._advance(ca_ref)
        if data["state"] not in _ALIVE:
            raise CAError(
                f"Order {ca_ref} cannot be rejected: it is {data['state'].replace('_', ' ')}."
            )
        data.update(state=CAState.FAILED.value, reason=reason)
        self.store.save(ca_ref, data)

    def root_certificate_pem(self) -> bytes:
        """The simulated CA's root certificate, PEM (trust anchor for verifying its chains)."""
        return self.authority.root.public_bytes(serialization.Encoding.PEM)

    @property
    def authority(self) -> Authority:
        """The CA's own root and issuing CA, created under ``data_dir`` on first use."""
        if self._authority is None:
            self._authority = Authority(
                self.data_dir / "simulated-ca", now=self._now(), public_url=self.public_url
            )
        return self._authority

    # --- internals -----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def _load(self, ca_ref: str) -> dict:
        data = self.store.load(ca_ref)
        if data is None:
            raise CAError(f"The simulated CA has no order {ca_ref}.")
        return data

    def _advance(self, ca_ref: str) -> dict:
        """Load the order and apply whatever the clock says has happened since; save changes."""
        data = self._load(ca_ref)
        now = self._now()
        state = data["state"]
        if state == CAState.REVIEWING:
            submitted = datetime.fromisoformat(data["submitted_at"])
            if now >= submitted + self.review_delay:
                reason = review.review_decision(_submission(data))
                if reason is not None:
                    data.update(state=CAState.FAILED.value, reason=reason)
                    self.store.save(ca_ref, data)
                else:
                    data.update(
                        state=CAState.AWAITING_VERIFICATION.value,
                        verification_started=now.isoformat(),
                    )
                    self._send_email(ca_ref, data)
        elif state == CAState.AWAITING_VERIFICATION and now >= self._window_end(data):
            window = _words(self.verification_window)
            mailbox = data["submission"]["applicant_email"]
            data.update(
                state=CAState.FAILED.value,
                reason=(
                    f"Domain verification was not completed within {window} of the "
                    f"verification email to {mailbox}, "
                    "so the CA closed the request. Resubmit the order to get a new email, "
                    "and open its link promptly."
                ),
            )
            self.store.save(ca_ref, data)
        return data

    def _window_end(self, data: dict) -> datetime:
        return datetime.fromisoformat(data["verification_started"]) + self.verification_window

    def _send_email(self, ca_ref: str, data: dict) -> None:
        """Issue a new token, write the email with its link, and save the order."""
        secret = secrets.token_urlsafe(24)
        if data["token_hash"]:
            data["old_token_hashes"] = [*data["old_token_hashes"], data["token_hash"]]
        data["token_hash"] = _hash(secret)  # only the hash is kept: a store dump verifies nothing
        data["emails_sent"] += 1
        submitted = data["submission"]
        mailer.write_verification_email(
            self.mail_dir,
            ca_ref=ca_ref,
            applicant_name=submitted["applicant_name"],
            applicant_email=submitted["applicant_email"],
            domains=submitted["domains"],
            link=f"{self.public_url}/sim-ca/verify/{ca_ref}.{secret}",
            sent=self._now(),
            expires=self._window_end(data),
            sequence=data["emails_sent"],
        )
        self.store.save(ca_ref, data)

    def _issue(self, data: dict) -> None:
        """Sign the certificate for the CSR's key and names; mark the order issued."""
        submission = _submission(data)
        csr = x509.load_pem_x509_csr(submission.csr_pem)
        now = self._now()
        leaf = self.authority.issue(
            csr.public_key(),
            names=submission.domains,
            product=submission.product,
            organization=submission.organization,
            not_before=now,
            not_after=now + self.validity,
        )
        data.update(
            state=CAState.ISSUED.value,
            verified_at=now.isoformat(),
            certificate_pem=leaf.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        )


def _submission(data: dict) -> Submission:
    fields = dict(data["submission"])
    org = fields.pop("organization")
    return Submission(
        **{
            **fields,
            "domains": tuple(fields["domains"]),
            "csr_pem": fields["csr_pem"].encode("ascii"),
            "organization": Organization(**org) if org else None,
        }
    )


def _words(span: timedelta) -> str:
    """A duration as people say it: "30 days", "2 hours", "90 seconds"."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
