"""Whole-system figures for monitoring: cheap aggregate queries, read at scrape time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.workflow import IN_FLIGHT
from storage import deliveries
from storage.models import Delivery, Order, Reminder, UTCDateTime


def orders_by_state(session: Session) -> dict[str, int]:
    """How many orders are in each state (one GROUP BY on an indexed column)."""
    rows = session.execute(select(Order.state, func.count()).group_by(Order.state))
    return {state: int(count) for state, count in rows}


def oldest_due(session: Session, *, now: datetime) -> dict[str, datetime | None]:
    """For each sweep's queue, the due time of its most overdue row (None: nothing due).

    reminders: unsent, uncancelled slots; polls: in-flight orders due a CA poll;
    deliveries: outbox rows not yet sent. Each is a MIN over an indexed column.
    """
    when = UTCDateTime()

    def oldest(column, *where) -> datetime | None:  # noqa: ANN001 - a mapped column
        found = session.scalar(select(func.min(column)).where(column <= now, *where))
        # MIN() loses the column type on some engines: read it back as the column would.
        if isinstance(found, str):
            found = datetime.fromisoformat(found)
        return when.process_result_value(found, None) if found is not None else None

    return {
        "reminders": oldest(
            Reminder.due_at, Reminder.sent_at.is_(None), Reminder.cancelled_at.is_(None)
        ),
        "polls": oldest(Order.next_poll_at, Order.state.in_([s.value for s in IN_FLIGHT])),
        "deliveries": oldest(Delivery.due_at, Delivery.status == deliveries.PENDING),
    }
