"""The interface every CA backend implements, and the values that cross it."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography import x509

from bot.ca.pages import PageHandler
from bot.errors import CAError
from bot.organization import Organization

__all__ = ["Organization"]  # re-exported: backends take it from here with the rest


class CAState(StrEnum):
    """What the CA says about an order."""

    REVIEWING = "reviewing"
    AWAITING_VERIFICATION = "awaiting_verification"
    ISSUED = "issued"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Submission:
    """Everything sent to the CA when an order is submitted for review."""

    order_ref: str
    product: str  # "dv" | "ov" | "ev"
    domains: tuple[str, ...]  # A-labels, in the order the person typed them
    csr_pem: bytes
    applicant_name: str
    applicant_email: str
    applicant_phone: str
    organization: Organization | None = None
    validity_days: int = 90
    #: Which purchase (``Purchase.ref``) this order completes, for CAs where one is bought first.
    purchase_ref: str | None = None
    #: True when the CA generates the key pair (``csr_pem`` is then empty): certdesk fetches the
    #: key with ``CABackend.fetch_private_key`` on issuance and seals it.
    key_generated_by_ca: bool = False
    #: The key algorithm the CA should generate (a ``Purchase.key_algorithms`` entry); only
    #: with ``key_generated_by_ca``. With a CSR the CSR's key decides.
    key_algorithm: str | None = None
    #: "dns-01" or "http-01", for CAs that offer both; None = the backend's default.
    validation_method: str | None = None
    #: The organization's official registration number (e.g. China's unified social credit
    #: code); Alibaba Cloud's company records require it for OV/EV. Empty when not collected.
    #: Kept beside ``organization`` so that class stays field-for-field the stored record.
    registration_number: str = ""
    #: Names this submission attempt: a CA that honours it treats a repeat (certdesk died
    #: after the CA accepted the order, before recording its reference) as the same order.
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Purchase:
    """A certificate bought at the CA and not yet applied for (e.g. an Alibaba Cloud instance)."""

    ref: str  # the CA's identifier, passed back as ``Submission.purchase_ref``
    product: str  # "dv" | "ov" | "ev"
    domain_type: str  # "single" | "multiple" | "wildcard" | "multiple+wildcard"
    domain_count: int  # exact names the purchase covers
    wildcard_count: int  # wildcard names the purchase covers
    validity_days: int  # how long the purchase (subscription) lasts
    description: str  # the CA's own name for what was bought, for display
    #: Key algorithms the CA accepts for it, in certdesk's names (rsa2048, p256, sm2...).
    key_algorithms: tuple[str, ...] = ("rsa2048",)


@dataclass(frozen=True)
class Validation:
    """What one domain needs to prove control: a mailbox, a DNS record or a file."""

    domain: str
    method: str  # "email" | "dns-01" | "http-01"
    mailbox: str | None = None
    record_name: str | None = None
    record_type: str | None = None
    record_value: str | None = None
    url: str | None = None
    content: str | None = None
    done: bool = False


@dataclass(frozen=True)
class VerificationEmail:
    """What the CA's verification email looks like, so people can find it in their mailbox."""

    sender: str
    subject: str


@dataclass(frozen=True)
class CAStatus:
    """The CA's answer to "where does this order stand?"."""

    state: CAState
    validations: tuple[Validation, ...] = field(default_factory=tuple)
    reason: str | None = None  # why it failed, in words a person can act on


class CABackend(abc.ABC):
    """One certificate authority. Every method may raise ``bot.errors.CAError``.

    ``CAError.retryable`` is true when the call may succeed later unchanged
    (network error, 5xx); false when the CA refused the request itself.
    """

    #: Short name used in CERTDESK_CA and shown to people.
    name: str = ""
    #: The CA as people know it, for sentences ("Alibaba Cloud"); empty: ``name``.
    display_name: str = ""
    #: Issuer domain names this CA is known by in CAA records (RFC 8659).
    caa_identities: tuple[str, ...] = ()
    #: Whether the CA verifies domains by emailing the applicant (else: DNS records, files).
    emails_applicant: bool = True
    #: Whether the CA can generate the key pair itself (``Submission.key_generated_by_ca``).
    generates_keys: bool = False
    #: Whether certificates are bought at the CA first and registered from ``purchases()``
    #: (then `/cert new` offers the account's purchases instead of asking what was bought).
    sells_purchases: bool = False
    #: Where a person buys a certificate from this CA, when it sells them (``sells_purchases``).
    purchase_url: str = ""
    #: Whether this CA is a local stand-in whose certificates public CAA records do not govern.
    local: bool = False

    @abc.abstractmethod
    def submit(self, submission: Submission) -> str:
        """Send the order for review; return the CA's reference for it."""

    @abc.abstractmethod
    def status(self, ca_ref: str) -> CAStatus:
        """Report where the order stands, including what validation still needs."""

    @abc.abstractmethod
    def resend_verification(self, ca_ref: str) -> None:
        """Send the domain-control verification (email) again."""

    def request_validation(self, ca_ref: str) -> None:  # noqa: B027 - optional hook
        """Tell the CA the person has published what validation needs; check it now.

        Backends that validate on their own schedule need do nothing.
        """

    def verification_email(self, ca_ref: str, domains: list[str]) -> VerificationEmail | None:
        """The sender and subject of this CA's verification email, if known (else None)."""
        return None

    def purchases(self) -> list[Purchase]:
        """The account's purchases not yet applied for, to pick one from (none by default).

        Only CAs where a certificate is bought before it is applied for list any.
        """
        return []

    def contacts_applicant(self, product: str) -> bool:
        """Whether the CA itself emails (and may phone) the applicant while reviewing ``product``.

        Separate from ``emails_applicant`` (domain control by email): an OV/EV review at a
        CA that validates domains by DNS records still contacts the applicant's mailbox.
        """
        return self.emails_applicant

    def needs_registration_number(self, product: str) -> bool:
        """Whether ``product`` needs the organization's registration number at this CA."""
        return False

    def fetch_private_key(self, ca_ref: str) -> bytes | None:
        """The private key PEM the CA generated for this order, or None if it holds none."""
        return None

    def check(self) -> None:  # noqa: B027 - optional hook
        """Raise CAError unless the CA can be reached now (for /readyz; must be quick).

        A CA with nothing to reach (the simulated one) is always ready.
        """

    def pages(self) -> dict[str, PageHandler]:
        """Web pages this CA serves through certdesk, by path prefix (none by default).

        The simulated CA serves its verification links here; certdesk's web server routes them.
        """
        return {}

    @abc.abstractmethod
    def cancel(self, ca_ref: str) -> None:
        """Withdraw the order."""

    @abc.abstractmethod
    def fetch_certificate(self, ca_ref: str) -> bytes:
        """Return the issued certificate chain as PEM, leaf first."""

    def revoke(self, ca_ref: str, certificate_pem: bytes, *, reason: int = 0) -> None:
        """Revoke an issued certificate with an RFC 5280 reason code.

        Backends that cannot revoke raise CAError.
        """
        raise CAError(f"The {self.name} CA does not support revocation from certdesk.")


def certificate_to_revoke(certificate_pem: bytes) -> x509.Certificate:
    """The certificate a revoke() was given; CAError if it is not one."""
    try:
        return x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        raise CAError("That is not a PEM certificate, so it cannot be revoked.") from None


class StateStore(abc.ABC):
    """Where a backend keeps what it must remember about an order between calls.

    Values are JSON-compatible dicts. certdesk provides one backed by its database;
    tests may use ``MemoryStateStore``.
    """

    @abc.abstractmethod
    def load(self, ref: str) -> dict | None:
        """Return what was saved under ``ref``, or None."""

    @abc.abstractmethod
    def save(self, ref: str, data: dict) -> None:
        """Replace what is saved under ``ref``."""


class MemoryStateStore(StateStore):
    """A StateStore in a dict, for tests and one-process tools."""

    def __init__(self) -> None:
        self._data: dict[str, dict] = {}

    def load(self, ref: str) -> dict | None:
        found = self._data.get(ref)
        return dict(found) if found is not None else None

    def save(self, ref: str, data: dict) -> None:
        self._data[ref] = dict(data)
