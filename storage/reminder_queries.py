"""Reading reminder slots for the reminder sweep (never commits: the caller owns the session)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Reminder


def sent_count(session: Session, order_id: int, *, kind: str, recipient: str) -> int:
    """How many reminders of ``kind`` about the order ``recipient`` has been sent this round."""
    sent = session.scalar(
        select(func.count(Reminder.id)).where(
            Reminder.order_id == order_id,
            Reminder.kind == kind,
            Reminder.recipient_id == recipient,
            Reminder.sent_at.is_not(None),
        )
    )
    return int(sent or 0)
