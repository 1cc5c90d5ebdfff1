"""Files and notices delivered privately to the requester's DM, each recorded for later clean-up."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock

from bot.orders.notices import tell_people
from bot.services import Services
from bot.views import ids
from bot.views.common import button, context, section
from storage import queries
from storage.models import DeliveredFile


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
) -> DeliveredFile:
    """Upload a file into ``user_id``'s DM only, and remember it (so it can be deleted)."""
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


def announce_submission(services: Services, order_id: int, *, requester: str) -> None:
    """Tell the requester the order went to the CA, and hand them the CSR."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.applicant is not None
        csr, mailbox, ref = order.csr_pem or "", order.applicant.email, order.ref
    text = f"{ref} was submitted to the CA for review. Watch {mailbox} for its email."
    blocks = [
        section(
            f":outbox_tray: *{ref}* was submitted to the CA for review.\n"
            f"The CA will email *{mailbox}* to verify the domains. Watch that mailbox and "
            "follow the link in the email — until someone does, the order stays under review. "
            "certdesk will remind you."
        ),
        context(
            "The CSR is attached below. Your order's private key never leaves certdesk "
            "unless you ask for it."
        ),
        ActionsBlock(elements=[button("Details", ids.SHOW_STATUS, str(order_id))]),
    ]
    tell_people(
        services,
        order_id,
        text=text,
        blocks=blocks,
        channel_text=f"{ref} was submitted to the CA for review.",
    )
    upload_private(
        services,
        order_id,
        user_id=requester,
        kind="csr",
        filename=f"{ref.lower()}.csr.pem",
        content=csr.encode(),
        title=f"{ref} CSR",
    )
