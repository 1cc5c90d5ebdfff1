"""Key files after delivery: deleted from Slack (by the owner or when their time is up), and
the key itself purged from certdesk once the owner has it."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from bot.errors import IllegalTransition, NotAllowed, NotFound, SlackError
from bot.orders.keys import owned_order, stored_key
from bot.orders.workspaces import acting_for_order
from bot.services import Services
from storage import queries
from storage.models import DeliveredFile, Order, PrivateKey, utcnow

logger = logging.getLogger(__name__)


def delete_key_file(services: Services, delivered_id: int, *, user_id: str) -> DeliveredFile:
    """Delete a key file the owner received from Slack (files.delete) and record it."""
    with services.sessions.begin() as session:
        delivered = session.get(DeliveredFile, delivered_id)
        if delivered is None or delivered.kind != "key":
            raise NotFound("That key file is not one certdesk knows about.")
        owned_order(session, services, delivered.order_id, user_id=user_id)
        if delivered.user_id != user_id:
            raise NotAllowed("Only the person who received this key file can delete it.")
        if delivered.deleted_at is not None:
            return delivered
        file_id = delivered.slack_file_id
    services.notifier.delete_file(file_id)  # already gone counts as deleted
    return _mark_deleted(services, delivered_id, actor=user_id, why="owner")


def open_purge(services: Services, order_id: int, *, user_id: str) -> Order:
    """The order whose key the owner wants to purge, if it may be purged now."""
    with services.sessions.begin() as session:
        order = owned_order(session, services, order_id, user_id=user_id)
        stored_key(session, order)
        _require_downloaded(session, order)
        return order


def purge_key(services: Services, order_id: int, *, user_id: str) -> Order:
    """Erase the sealed key from certdesk for good (the owner's choice, after downloading it)."""
    with services.sessions.begin() as session:
        order = owned_order(session, services, order_id, user_id=user_id)
        key = stored_key(session, order)
        _require_downloaded(session, order)
        key.ciphertext, key.purged_at = None, utcnow()
        queries.record(session, order_id=order_id, actor=user_id, action="key_purged")
        return order


def _require_downloaded(session: Session, order: Order) -> None:
    # Only a download of *this* key counts: a resubmission makes a new key, and an earlier
    # download then holds a key that no longer matches the order's CSR.
    key = session.get(PrivateKey, order.id)
    created = key.created_at if key else None
    if not queries.key_files_sent(session, order.id, since=created):
        earlier = queries.key_files_sent(session, order.id)
        again = (
            " The key you downloaded earlier was replaced when the order was resubmitted."
            if earlier
            else ""
        )
        raise IllegalTransition(
            f"Download the private key of {order.ref} before purging it: after a purge "
            f"nobody can download it again.{again}"
        )


def delete_expired_key_files(services: Services, *, now: datetime) -> int:
    """Delete every delivered key file past its delete_after from Slack; return how many.

    A file already gone counts as deleted; a 429 or 5xx (after the client's own retries)
    leaves the file for the next run.
    """
    with services.sessions.begin() as session:
        due = queries.key_files_due(session, now=now)
    deleted = 0
    for delivered_id, file_id in due:
        with services.sessions.begin() as session:
            delivered = session.get(DeliveredFile, delivered_id)
            order_id = delivered.order_id if delivered else None
        try:
            if order_id is None:
                continue
            with acting_for_order(services, order_id):  # the file is in that workspace
                services.notifier.delete_file(file_id)  # already gone counts as deleted
        except SlackError as exc:
            logger.warning(
                "could not delete key file %s from Slack (%s); trying again next run",
                file_id,
                exc.code or exc,
            )
            continue
        _mark_deleted(services, delivered_id, actor="system", why="expired")
        deleted += 1
    return deleted


def _mark_deleted(services: Services, delivered_id: int, *, actor: str, why: str) -> DeliveredFile:
    with services.sessions.begin() as session:
        delivered = session.get(DeliveredFile, delivered_id)
        assert delivered is not None
        if delivered.deleted_at is None:
            delivered.deleted_at = utcnow()
            queries.record(
                session,
                order_id=delivered.order_id,
                actor=actor,
                action="key_file_deleted",
                file=delivered.slack_file_id,
                filename=delivered.filename,
                reason=why,
            )
        return delivered
