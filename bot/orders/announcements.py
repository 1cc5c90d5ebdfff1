"""What an order's stages owe its people, and sending it at once after the change's commit.

A submission, failure (or rejection), issuance or expiry is owed inside the transaction that
makes it: the DM to the requester (with watchers and the team channel) and a file into the
requester's DM (the CSR, the certificate chain), each a row of the outbox
(``bot.orders.telling``). ``announce`` then sends the order's rows right away; whatever Slack
kept from people is sent by the sweep (``deliver_owed``, ``bot.orders.sender``). Rows owed
before a later change (a submission notice when the certificate is issued soon after) stay
owed and are sent: nothing is dropped because the order moved on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import events
from bot.ca.base import Validation
from bot.crypto import CertInfo
from bot.csr_method import CSRMethod
from bot.orders import sender
from bot.orders.telling import owe_file, owe_people, people_of, refresh_homes
from bot.services import Services
from storage import deliveries, queries
from storage.models import DeliveredFile, Order, utcnow

logger = logging.getLogger(__name__)

#: How long a sent (or given-up) outbox row is kept: for support questions, then forgotten.
KEEP_DELIVERIES = timedelta(days=30)


def owe_submission(
    session: Session,
    services: Services,
    order: Order,
    *,
    now: datetime,
    notes: Sequence[str],
    steps: Sequence[Validation],
) -> None:
    """In the transaction that records the CA's acceptance: the submission DM and the CSR."""
    assert order.applicant is not None
    ca, by_ca = services.ca, order.csr_method == CSRMethod.CA_GENERATED
    mailbox = order.applicant.email
    reviewer = mailbox if not ca.emails_applicant and ca.contacts_applicant(order.product) else None
    event = events.Submitted(
        ref=order.ref,
        order_id=order.id,
        mailbox=mailbox,
        by_email=ca.emails_applicant,
        notes=tuple(notes),
        steps=tuple(steps),
        reviewer_writes_to=reviewer,
        key_made_by=(ca.display_name or ca.name) if by_ca else None,
    )
    owe_people(session, services, order, event, now=now)
    if order.csr_pem:  # a CA that makes the key makes the CSR too: none to hand over
        owe_file(
            session,
            order,
            kind="csr",
            filename=f"{order.ref.lower()}.csr.pem",
            content=order.csr_pem,
            title=f"{order.ref} CSR",
            now=now,
        )


def owe_issuance(
    session: Session, services: Services, order: Order, info: CertInfo, *, now: datetime
) -> None:
    """In the transaction that stores the certificate: its details, then the chain file."""
    assert order.certificate_pem
    event = events.Issued(
        ref=order.ref, order_id=order.id, info=info, offer_key=order.key_downloadable
    )
    owe_people(session, services, order, event, now=now)
    owe_file(
        session,
        order,
        kind="chain",
        filename=f"{order.ref.lower()}.fullchain.pem",
        content=order.certificate_pem,
        title=f"{order.ref} certificate chain",
        now=now,
    )


def owe_expiry(session: Session, services: Services, order: Order, *, now: datetime) -> None:
    """In the expiring transaction: the certificate expired (offering renewal)."""
    assert order.not_after is not None
    event = events.Expired(ref=order.ref, order_id=order.id, not_after=order.not_after)
    owe_people(session, services, order, event, now=now)


def announce(services: Services, order_id: int, *, homes: bool = True) -> None:
    """Send what the order owes its people now, then refresh their Home tabs (what Slack
    refuses now stays owed: the sweep sends it)."""
    try:
        sender.send_due(services, now=utcnow(), order_ids=[order_id])
    except Exception:
        # The rows are safe in the database: the sweep sends them.
        logger.exception("order %s: sending its notices failed; the sweep retries", order_id)
    if homes:
        requester, watchers = people_of(services, order_id)
        refresh_homes(services, [requester, *watchers])


def deliver_owed(services: Services, *, now: datetime) -> int:
    """Send every owed DM, notice and file that is due; return how many went out. Then
    forget a batch of rows done with for over ``KEEP_DELIVERIES`` (the table stays the size
    of a month's messages, whatever the store's history)."""
    sent = sender.send_due(services, now=now)
    with services.sessions.begin() as session:
        deliveries.forget_before(session, now - KEEP_DELIVERIES)
    return sent


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
    """Upload a file into ``user_id``'s DM only, now, and remember it (so it can be deleted).

    For a private key, which is never written to the outbox: it is handed over only while
    the person who asked waits for it.
    """
    channel, file_id = services.notifier.upload_to_dm(
        user_id, filename=filename, content=content, title=title
    )
    with services.sessions.begin() as session:
        return queries.record_file(
            session,
            order_id=order_id,
            user_id=user_id,
            channel_id=channel,
            slack_file_id=file_id,
            kind=kind,
            filename=filename,
            delete_after=delete_after,
        )
