"""What a Slack outage kept from people is sent again later, never lost and never twice.

When telling people about a submission or an issuance fails even after slack_sdk's own
retries, the order is marked with `delivery_due_at`. A scheduler job claims marked orders
(one worker each) and calls the same, idempotent delivery again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot import workflow
from bot.services import Services
from storage import queries
from storage.models import Order, utcnow

logger = logging.getLogger(__name__)

#: How long after a failed delivery it is tried again.
RETRY_AFTER = timedelta(minutes=1)
BATCH = 50


def owe_delivery(services: Services, order_id: int, *, problem: str) -> None:
    """Remember that this order's people were not told; the sweep tries again."""
    with services.sessions.begin() as session:
        session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(delivery_due_at=utcnow() + RETRY_AFTER)
            .execution_options(synchronize_session=False)
        )
        queries.record(
            session, order_id=order_id, actor="system", action="delivery_failed", problem=problem
        )


def delivered(services: Services, order_id: int) -> None:
    """The order's people have been told: nothing is owed any more."""
    _release(services, order_id, at=None)


def deliver_owed(services: Services, *, now: datetime) -> int:
    """Deliver again to every order whose delivery is due; return how many succeeded."""
    with services.sessions.begin() as session:
        due = session.scalars(
            select(Order.id)
            .where(Order.delivery_due_at.is_not(None), Order.delivery_due_at <= now)
            .order_by(Order.delivery_due_at)
            .limit(BATCH)
        ).all()
    done = 0
    for order_id in due:
        if not _claim(services, order_id, now=now):
            continue  # another worker has it
        try:
            _deliver(services, order_id)
        except Exception:
            logger.exception("order %s: delivering to Slack failed again; retrying later", order_id)
            _release(services, order_id, at=now + RETRY_AFTER)
            continue
        _release(services, order_id, at=None)
        done += 1
    return done


def _claim(services: Services, order_id: int, *, now: datetime) -> bool:
    # Compare-and-set: of several workers, exactly one moves the due time past now.
    with services.sessions.begin() as session:
        claimed = session.execute(
            update(Order)
            .where(Order.id == order_id, Order.delivery_due_at <= now)
            .values(delivery_due_at=now + services.settings.claim_lease)
            .execution_options(synchronize_session=False)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _release(services: Services, order_id: int, *, at: datetime | None) -> None:
    with services.sessions.begin() as session:
        session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(delivery_due_at=at)
            .execution_options(synchronize_session=False)
        )


def _deliver(services: Services, order_id: int) -> None:
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        state = order.state if order else None
    if state == workflow.State.ISSUED:
        from bot.orders.issuance import deliver

        deliver(services, order_id, recheck=True)
    elif state in workflow.IN_FLIGHT:
        from bot.orders.delivery import announce_submission

        announce_submission(services, order_id, recheck=True)
