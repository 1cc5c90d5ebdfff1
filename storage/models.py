"""Typed SQLAlchemy models: orders, their domains and contacts, keys, reminders, audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from bot.csr_method import certdesk_holds_key
from bot.organization import Organization as OrganizationDetails

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Conditions of the sweeps' partial indexes, spelled as the sweeps' queries spell them.
PENDING_REMINDER = "sent_at IS NULL AND cancelled_at IS NULL"
UNDELETED_FILE = "deleted_at IS NULL"
PENDING_DELIVERY = "due_at IS NOT NULL"  # pending: sent and given-up rows have none


class Base(DeclarativeBase):
    """Declarative base with a naming convention so Alembic migrations are stable."""

    metadata = MetaData(naming_convention=NAMING)


class Organization(Base):
    """An organization (OV/EV subject), saved per workspace so it can be picked again."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    created_by: Mapped[str] = mapped_column(String(32))
    legal_name: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
    state: Mapped[str] = mapped_column(String(128))
    city: Mapped[str] = mapped_column(String(128))
    street: Mapped[str] = mapped_column(String(128))
    postal_code: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def details(self) -> OrganizationDetails:
        """The organization as the form, CSRs and CA backends see it."""
        return OrganizationDetails(
            legal_name=self.legal_name,
            country=self.country,
            state=self.state,
            city=self.city,
            street=self.street,
            postal_code=self.postal_code,
            phone=self.phone,
        )


class Order(Base):
    """A purchased certificate and its application, from purchase to expiry."""

    __tablename__ = "orders"
    # Lists page by id within a team (see storage.order_pages); sweeps look up only due rows.
    __table_args__ = (
        Index("ix_orders_team_id_id", "team_id", "id"),
        Index("ix_orders_team_requester", "team_id", "requester_id", "id"),
        Index("ix_orders_team_requester_state", "team_id", "requester_id", "state", "id"),
        Index("ix_orders_team_state", "team_id", "state", "id"),
        Index("ix_orders_team_state_not_after", "team_id", "state", "not_after"),
        # The expiry sweep: issued orders past not_after, without reading expired history.
        Index("ix_orders_state_not_after", "state", "not_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    requester_id: Mapped[str] = mapped_column(String(32), index=True)
    # The purchase as bought.
    product: Mapped[str] = mapped_column(String(8))  # dv | ov | ev
    domain_type: Mapped[str] = mapped_column(String(16))  # single | multi | wildcard
    domain_count: Mapped[int] = mapped_column(Integer)
    validity_days: Mapped[int] = mapped_column(Integer)
    # The CA's own reference of what was bought, where a CA sells before applying (Alibaba
    # Cloud's instance ID); and the key algorithms that purchase accepts (comma-separated).
    # (Text, not String(n): SQLite sizes rows by declared lengths, and a wider row tips its
    # planner off the (team_id, id) index for the team's order list.)
    purchase_ref: Mapped[str | None] = mapped_column(Text, index=True)
    purchase_key_algorithms: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32), index=True)
    # The application.
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    csr_method: Mapped[str | None] = mapped_column(String(16))  # system | upload | ca
    # The organization's official registration number, for CAs whose company records need it.
    registration_number: Mapped[str | None] = mapped_column(Text)
    key_algorithm: Mapped[str | None] = mapped_column(String(16))
    csr_pem: Mapped[str | None] = mapped_column(Text)
    # The CA's side.
    ca_name: Mapped[str | None] = mapped_column(String(32))
    ca_ref: Mapped[str | None] = mapped_column(String(512))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    poll_failures: Mapped[int] = mapped_column(Integer, default=0)
    verification_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the order entered its current state (for the time-in-state metric).
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Unused since the outbox (``Delivery``). Kept for one release: replicas of the previous
    #: release read and write it while a rolling upgrade replaces them (docs/operations.md:
    #: migrations are additive). A later migration drops it.
    delivery_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The result.
    certificate_pem: Mapped[str | None] = mapped_column(Text)
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    renewed_from_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Optimistic locking: two writers can never silently overwrite each other's changes.
    version: Mapped[int] = mapped_column(Integer, default=1)

    domains: Mapped[list[OrderDomain]] = relationship(
        back_populates="order", order_by="OrderDomain.position", cascade="all, delete-orphan"
    )
    applicant: Mapped[Contact | None] = relationship(
        back_populates="order", cascade="all, delete-orphan"
    )
    organization: Mapped[Organization | None] = relationship()
    watchers: Mapped[list[Watcher]] = relationship(cascade="all, delete-orphan")
    # Read-only, loaded with the order, so views can tell whether a key can be downloaded.
    private_key: Mapped[PrivateKey | None] = relationship(lazy="selectin", viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    @property
    def ref(self) -> str:
        """The order ID people see and type, e.g. CD-0042."""
        return format_ref(self.id)

    @property
    def key_downloadable(self) -> bool:
        """Whether certdesk holds this order's key sealed (its own or the CA's), not purged."""
        key = self.private_key
        return (
            certdesk_holds_key(self.csr_method)
            and key is not None
            and key.ciphertext is not None
            and key.purged_at is None
        )


def format_ref(order_id: int) -> str:
    """Format an order's number as the ID shown to people."""
    # %-formatting: twice as fast as the f-string, and a list formats each order it shows.
    return "CD-%04d" % order_id  # noqa: UP031


def reversed_labels(name: str) -> str:
    """A domain name with its labels reversed (www.example.com -> com.example.www)."""
    return ".".join(reversed(name.split(".")))


def _reversed_default(context: DefaultExecutionContext) -> str:
    # Core inserts (bulk loads) that do not set the column still get it.
    return reversed_labels(context.get_current_parameters()["name"])


# Byte order on PostgreSQL too, so a parent domain's names are one contiguous index range.
_BYTE_ORDERED_NAME = String(253).with_variant(String(253, collation="C"), "postgresql")


class OrderDomain(Base):
    """One domain of an order, in the order typed."""

    __tablename__ = "order_domains"
    __table_args__ = (
        UniqueConstraint("order_id", "name"),
        Index("ix_order_domains_reversed_name", "reversed_name", "order_id"),
        # An order's names in the order typed: a list reads its first few without sorting
        # all of them (250 on the largest orders).
        Index("ix_order_domains_order_position", "order_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(253))  # A-label form
    display: Mapped[str] = mapped_column(String(253))  # as typed
    # `name` label-reversed, so "example.com and every name under it" is an index range.
    reversed_name: Mapped[str] = mapped_column(_BYTE_ORDERED_NAME, default=_reversed_default)

    order: Mapped[Order] = relationship(back_populates="domains")

    @validates("name")
    def _keep_reversed_name(self, _key: str, name: str) -> str:
        self.reversed_name = reversed_labels(name)
        return name


class Contact(Base):
    """The applicant: the person, and the mailbox the CA writes to."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(32))

    order: Mapped[Order] = relationship(back_populates="applicant")


class Draft(Base):
    """What a person last typed into an order's modal, valid or not, so nothing is lost."""

    __tablename__ = "drafts"

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_by: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Watcher(Base):
    """Someone the owner added to follow an order (read-only)."""

    __tablename__ = "watchers"
    __table_args__ = (
        UniqueConstraint("order_id", "user_id"),
        # "Orders I watch", newest first, for lists.
        Index("ix_watchers_user_order", "user_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApprovalRequest(Base):
    """One request to approve an order's application before it goes to the CA.

    The first decision wins: ``decided_at`` is set once (compare-and-set), with who decided,
    how (approved, rejected, withdrawn by an edit or a cancel) and why.
    """

    __tablename__ = "approval_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: SHA-256 of the application as the CA would receive it, so a later change is visible.
    digest: Mapped[str] = mapped_column(String(64))
    #: Who may decide (Slack user ids), fixed when asked.
    approvers: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    #: An admin decided in place of the approvers (their reason is required).
    override: Mapped[bool] = mapped_column(Boolean, default=False)


class ApprovalMessage(Base):
    """The DM an approver got for a request, updated when someone decides."""

    __tablename__ = "approval_messages"
    __table_args__ = (UniqueConstraint("request_id", "approver_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("approval_requests.id", ondelete="CASCADE"), index=True
    )
    approver_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))


class PrivateKey(Base):
    """An order's system-generated private key, sealed with AES-256-GCM under a master key."""

    __tablename__ = "private_keys"

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    algorithm: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)  # None once purged
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SealedSecret(Base):
    """Other secrets certdesk keeps sealed, such as a CA account key."""

    __tablename__ = "sealed_secrets"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CARecord(Base):
    """What a CA backend remembers about one of its orders (see bot.ca.base.StateStore)."""

    __tablename__ = "ca_records"

    backend: Mapped[str] = mapped_column(String(32), primary_key=True)
    ref: Mapped[str] = mapped_column(String(512), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Reminder(Base):
    """One reminder slot per order, kind and step, claimed in the database before sending."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("order_id", "kind", "step", "recipient_id"),
        # The reminder sweep reads pending slots only; sent and cancelled ones pile up forever.
        Index(
            "ix_reminders_pending_due",
            "due_at",
            "id",
            sqlite_where=text(PENDING_REMINDER),
            postgresql_where=text(PENDING_REMINDER),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # verification | expiry | escalation
    step: Mapped[int] = mapped_column(Integer)
    recipient_id: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_ts: Mapped[str | None] = mapped_column(String(32))


class DeliveredFile(Base):
    """A file certdesk uploaded to someone's DM, so it can be deleted later."""

    __tablename__ = "delivered_files"
    # The key-file sweep reads files still to delete only, not every file ever deleted.
    __table_args__ = (
        Index(
            "ix_delivered_files_pending_delete",
            "delete_after",
            sqlite_where=text(UNDELETED_FILE),
            postgresql_where=text(UNDELETED_FILE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    slack_file_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # csr | chain | key
    filename: Mapped[str] = mapped_column(String(255))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delete_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Delivery(Base):
    """One DM, channel notice or file owed to someone (the outbox), written in the same
    transaction as the change it tells of and sent once by ``bot.orders.sender``."""

    __tablename__ = "deliveries"
    # The sender reads pending rows only (due_at is cleared once sent), oldest due first; the
    # clean-up reads the oldest rows first.
    __table_args__ = (
        Index(
            "ix_deliveries_pending_due",
            "due_at",
            sqlite_where=text(PENDING_DELIVERY),
            postgresql_where=text(PENDING_DELIVERY),
        ),
        Index("ix_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[str | None] = mapped_column(String(32))  # whose workspace sends it
    #: Unique per message: writing the same delivery twice keeps one row.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    what: Mapped[str] = mapped_column(String(40))  # the event ("issued") or file kind ("chain")
    medium: Mapped[str] = mapped_column(String(8))  # dm | channel | file
    user_id: Mapped[str | None] = mapped_column(String(32))  # the person (dm, file)
    channel_id: Mapped[str | None] = mapped_column(String(32))  # the channel, once known
    #: The rendered message ({"text", "blocks"}) or file ({"filename", "title", "content"}).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|given_up
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Attempts Slack refused outright (not outages): the row is given up after a few.
    refusals: Mapped[int] = mapped_column(Integer, default=0)
    #: The next attempt, or the end of a sender's claim; None once sent or given up.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Which sender holds the claim: only it may record the outcome.
    lease: Mapped[str | None] = mapped_column(String(64))
    #: An attempt may have reached Slack (a lost answer, a crash): look before sending again.
    in_doubt: Mapped[bool] = mapped_column(Boolean, default=False)
    slack_ref: Mapped[str | None] = mapped_column(String(64))  # the message ts or file id
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SlackUser(Base):
    """What certdesk caches about a Slack user: their DM channel and time zone."""

    __tablename__ = "slack_users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dm_channel_id: Mapped[str | None] = mapped_column(String(32))
    tz: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditEvent(Base):
    """Who did what to which order, and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    actor: Mapped[str] = mapped_column(String(64))  # a Slack user id, or "system"/"ca"
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ProcessedEvent(Base):
    """Slack Events API deliveries already handled (Slack retries up to three times)."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Workspace(Base):
    """A Slack workspace that installed certdesk (OAuth mode); inactive once it uninstalls."""

    __tablename__ = "workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    installed_by: Mapped[str | None] = mapped_column(String(32))
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set by the workspace's admins (`/cert admin …`); None/empty: CERTDESK_* apply.
    notify_channel: Mapped[str | None] = mapped_column(String(32))
    approvers: Mapped[list[str]] = mapped_column(JSON, default=list)


class WorkspaceAdmin(Base):
    """A certdesk admin of one workspace (OAuth mode); the installer is the first."""

    __tablename__ = "workspace_admins"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
