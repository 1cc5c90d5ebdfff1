"""Files and notices delivered privately to the requester's DM, each recorded for later clean-up."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.orders.notices import tell_people
from bot.orders.posted import find_file
from bot.services import Services
from bot.views import ids
from bot.views.common import button, context, section
from storage import queries
from storage.models import AuditEvent, DeliveredFile


def upload_private(
    services: Services,
    order_id: int,
    *,
    user_id: str,
    kind: str,
    filename: str,
    content: bytes,
    title: str,
    delete_after: datetime | None = None,
    recheck: bool = False,
) -> DeliveredFile:
    """Upload a file into ``user_id``'s DM only, and remember it (so it can be deleted).

    With ``recheck`` (a retry after a crash) a file of that name already in the DM is
    recorded instead of uploaded again.
    """
    found = None
    if recheck:
        channel = services.notifier.dm_channel(user_id)
        found = find_file(services, channel, filename=filename)
    if found is not None:
        file_id = found
    else:
        channel, file_id = services.notifier.upload_to_dm(
            user_id, filename=filename, content=content, title=title
        )
    with services.sessions.begin() as session:
        delivered = DeliveredFile(
            order_id=order_id,
            user_id=user_id,
            channel_id=channel,
            slack_file_id=file_id,
            kind=kind,
            filename=filename,
            delete_after=delete_after,
        )
        session.add(delivered)
        queries.record(
            session,
            order_id=order_id,
            actor="system",
            action=f"{kind}_delivered",
            to=user_id,
            file=file_id,
            filename=filename,
        )
    return delivered


def already_done(session: Session, order_id: int, *, action: str, since: datetime | None) -> bool:
    """Whether the audit trail has ``action`` for this order at or after ``since``."""
    query = select(AuditEvent.id).where(
        AuditEvent.order_id == order_id, AuditEvent.action == action
    )
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    return session.scalar(query.limit(1)) is not None


def file_delivered(session: Session, order_id: int, *, kind: str, since: datetime | None) -> bool:
    """Whether a file of ``kind`` reached the requester at or after ``since``."""
    query = select(DeliveredFile.id).where(
        DeliveredFile.order_id == order_id, DeliveredFile.kind == kind
    )
    if since is not None:
        query = query.where(DeliveredFile.delivered_at >= since)
    return session.scalar(query.limit(1)) is not None


def announce_submission(services: Services, order_id: int, *, recheck: bool = False) -> None:
    """Tell the requester the order went to the CA, and hand them the CSR.

    Each part is done once per submission, so calling it again after a Slack outage only
    sends what did not arrive (``recheck``: looking in Slack first, after a crash).
    """
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.applicant is not None
        csr, mailbox, ref = order.csr_pem or "", order.applicant.email, order.ref
        requester, since = order.requester_id, order.submitted_at
        announced = already_done(session, order_id, action="submission_announced", since=since)
        csr_sent = file_delivered(session, order_id, kind="csr", since=since)
    if not announced:
        text, blocks = submitted_message(
            ref, order_id, mailbox=mailbox, by_email=services.ca.emails_applicant
        )
        tell_people(
            services,
            order_id,
            text=text,
            blocks=blocks,
            channel_text=f"{ref} was submitted to the CA for review.",
            notice="submitted",
            recheck=recheck,
        )
        with services.sessions.begin() as session:
            queries.record(
                session, order_id=order_id, actor="system", action="submission_announced"
            )
    if not csr_sent:
        upload_private(
            services,
            order_id,
            user_id=requester,
            kind="csr",
            filename=f"{ref.lower()}.csr.pem",
            content=csr.encode(),
            title=f"{ref} CSR",
            recheck=recheck,
        )


def submitted_message(
    ref: str, order_id: int, *, mailbox: str, by_email: bool
) -> tuple[str, list[Block]]:
    """The DM that says an order went to the CA, and what the person must watch for."""
    if by_email:
        text = f"{ref} was submitted to the CA for review. Watch {mailbox} for its email."
        what = (
            f"The CA will email *{mailbox}* to verify the domains. Watch that mailbox and "
            "follow the link in the email — until someone does, the order stays under review. "
            "certdesk will remind you."
        )
    else:
        text = f"{ref} was submitted to the CA. certdesk will show you what to publish."
        what = (
            "The CA will ask you to prove control of the domains: certdesk will show you "
            "exactly which DNS records (or files) to publish, and remind you until it is done."
        )
    blocks: list[Block] = [
        section(f":outbox_tray: *{ref}* was submitted to the CA for review.\n{what}"),
        context(
            "The CSR is attached below. Your order's private key never leaves certdesk "
            "unless you ask for it."
        ),
        ActionsBlock(elements=[button("Details", ids.SHOW_STATUS, str(order_id))]),
    ]
    return text, blocks
