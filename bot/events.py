"""What happened to an order, as plain data: the use cases emit these, the views word them.

Each event carries what its message needs and nothing from Slack. ``bot.views.messages``
turns every one into the words people read (one place to see what certdesk says).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.ca.base import Validation
from bot.crypto import CertInfo
from bot.organization import Organization


@dataclass(frozen=True)
class Registered:
    """A purchase became an order; next, the requester completes its application."""

    ref: str
    order_id: int
    product: str
    domain_type: str
    domain_count: int
    validity_days: int
    purchase_ref: str | None = None


@dataclass(frozen=True)
class Submitted:
    """The order went to the CA; the person must watch the mailbox (or publish records)."""

    ref: str
    order_id: int
    mailbox: str
    by_email: bool
    #: What the checks before sending could not vouch for (a CAA record they could not judge).
    notes: tuple[str, ...] = ()
    #: The exact DNS records or files the CA named to publish (when it already has).
    steps: tuple[Validation, ...] = ()
    #: The applicant mailbox an OV/EV review writes to (and may phone about), if the CA does.
    reviewer_writes_to: str | None = None
    #: Who made the key pair when the CA did (e.g. "Alibaba Cloud"); None: certdesk or you.
    key_made_by: str | None = None


@dataclass(frozen=True)
class PassedReview:
    """The CA finished its review and asked for domain verification (team channel only)."""

    ref: str
    mailboxes: Sequence[str]


@dataclass(frozen=True)
class StateReached:
    """The CA moved the order to ``state`` (team channel only)."""

    ref: str
    state: str


@dataclass(frozen=True)
class Failed:
    """The CA turned the order down, or certdesk could not send it: why, in plain words."""

    ref: str
    order_id: int
    reason: str


@dataclass(frozen=True)
class CancelledAtCA:
    """The CA cancelled the order on its side."""

    ref: str


@dataclass(frozen=True)
class Issued:
    """The certificate is issued and stored; the chain follows as a file."""

    ref: str
    order_id: int
    info: CertInfo
    offer_key: bool


@dataclass(frozen=True)
class Expired:
    """The certificate's not_after has passed."""

    ref: str
    order_id: int
    not_after: datetime


@dataclass(frozen=True)
class Cancelled:
    """Someone cancelled the order (and withdrew it at the CA if it was there)."""

    ref: str
    owner: str
    actor: str
    at_ca: bool


@dataclass(frozen=True)
class CancelDone:
    """Told to whoever cancelled someone else's order."""

    ref: str
    owner: str
    at_ca: bool


@dataclass(frozen=True)
class Revoked:
    """Someone revoked the certificate; ``why`` is the RFC 5280 reason in words."""

    ref: str
    owner: str
    actor: str
    why: str


@dataclass(frozen=True)
class RevokeDone:
    """Told to whoever revoked someone else's certificate."""

    ref: str
    owner: str


@dataclass(frozen=True)
class WatcherAdded:
    """Told to the person who now watches the order."""

    ref: str
    actor: str
    owner: str


@dataclass(frozen=True)
class WatcherRemoved:
    """Told to the person who no longer watches the order."""

    ref: str
    actor: str


@dataclass(frozen=True)
class KeyDelivered:
    """The private key file is in the person's DM: when it goes, and how to remove it."""

    ref: str
    order_id: int
    file_row: int
    filename: str
    delete_after: datetime | None
    fmt: str


@dataclass(frozen=True)
class VerificationReminder:
    """Reminder ``number`` to verify the domains: exactly what the CA still needs."""

    ref: str
    order_id: int
    number: int
    validations: Sequence[Validation]
    mailbox: str | None
    domains: Sequence[str]
    email_sender: str | None
    email_subject: str | None
    window_end: datetime
    can_act: bool


@dataclass(frozen=True)
class Escalation:
    """Nobody verified in time: told once to admins and the team channel."""

    ref: str
    order_id: int
    requester: str
    waited: timedelta
    mailboxes: Sequence[str]
    with_buttons: bool


@dataclass(frozen=True)
class ExpiryReminder:
    """The certificate expires in ``days``."""

    ref: str
    order_id: int
    days: int
    not_after: datetime
    domains: Sequence[str]
    can_renew: bool


@dataclass(frozen=True)
class ReminderOutdated:
    """A reminder the order outran while it was being sent."""

    ref: str
    state_words: str


@dataclass(frozen=True)
class CheckedNow:
    """The person asked certdesk to check with the CA now; where the order stands after."""

    ref: str
    state: str
    asked: bool  # False: the order was not waiting for verification, nothing was asked


@dataclass(frozen=True)
class VerificationResent:
    """The CA sent its verification email again (``mailbox``), or there was none to resend."""

    ref: str
    state: str
    mailbox: str | None


@dataclass(frozen=True)
class Snoozed:
    """The person's reminders were pushed back; ``until`` is None if none were waiting."""

    ref: str
    until: datetime | None


@dataclass(frozen=True)
class Application:
    """An application exactly as it would go to the CA, shown to approvers."""

    product: str
    domains: Sequence[str]
    applicant_name: str
    applicant_email: str
    applicant_phone: str
    organization: Organization | None
    csr_method: str
    key_algorithm: str | None
    digest: str


@dataclass(frozen=True)
class ApprovalAsked:
    """To an approver: the full application, with Approve and Reject."""

    ref: str
    order_id: int
    requester: str
    application: Application


@dataclass(frozen=True)
class AwaitingApproval:
    """To the requester (and watchers): who must approve before the order goes to the CA."""

    ref: str
    order_id: int
    approvers: Sequence[str]


@dataclass(frozen=True)
class ApprovalDecided:
    """What an approver's request DM becomes once someone decided (or the request ended)."""

    ref: str
    decision: str  # "approved" | "rejected" | "withdrawn" | "cancelled"
    by: str
    at: datetime
    reason: str | None
    override: bool


@dataclass(frozen=True)
class Approved:
    """To the requester: approved, on its way to the CA."""

    ref: str
    order_id: int
    by: str
    override: bool


@dataclass(frozen=True)
class Rejected:
    """To the requester: not approved, why, and how to revise."""

    ref: str
    order_id: int
    by: str
    reason: str


@dataclass(frozen=True)
class ApprovalReminder:
    """To an approver: an order still waits for their decision."""

    ref: str
    order_id: int
    requester: str
    waited: timedelta
    number: int


@dataclass(frozen=True)
class ApprovalEscalation:
    """To admins and the team channel: nobody decided on an order in time."""

    ref: str
    order_id: int
    requester: str
    waited: timedelta
    approvers: Sequence[str]


@dataclass(frozen=True)
class NotifyChannelRefused:
    """To the admins, once: CERTDESK_NOTIFY_CHANNEL refuses certdesk's posts."""

    channel: str
    error: str
