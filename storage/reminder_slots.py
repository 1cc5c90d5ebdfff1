"""Reminder slots in the database: created when an order starts waiting, stopped when it moves.

A slot is one row per order, kind, step and recipient. Verification slots are made one step
at a time: step 0 for each person when the order starts waiting, and the next step in the
same transaction that marks a step sent (``chain_next``), so a compressed schedule never
fills the table and a late or snoozed reminder never fires a burst of missed steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot import reminders
from storage import queries
from storage.models import Order, Reminder, utcnow

VERIFICATION = "verification"
ESCALATION = "escalation"
APPROVAL = "approval"
APPROVAL_ESCALATION = "approval_escalation"
EXPIRY = "expiry"
#: Recipient of the escalation placeholder; it fans out to admins and the channel when due.
EVERYONE = "*"
#: Prefix marking a recipient that is a channel (the notify channel), not a person's DM.
CHANNEL = "#"
#: Kinds stopped together: escalation belongs to the verification it escalates.
_STOPPED_WITH = {
    VERIFICATION: (VERIFICATION, ESCALATION),
    APPROVAL: (APPROVAL, APPROVAL_ESCALATION),
    EXPIRY: (EXPIRY,),
}
#: The escalation that goes with each kind of nudge.
ESCALATES = {VERIFICATION: ESCALATION, APPROVAL: APPROVAL_ESCALATION}


def people(order: Order) -> list[str]:
    """The requester, then each watcher: who gets an order's reminders."""
    return [order.requester_id, *(w.user_id for w in order.watchers if w.user_id)]


def _pending() -> list:
    return [Reminder.sent_at.is_(None), Reminder.cancelled_at.is_(None)]


def _clear_finished(session: Session, order_id: int, kinds: Sequence[str]) -> None:
    """Make room for a new round (the unique slot key would clash): drop the old round's rows.

    They are sent or cancelled by now; a worker still holding one finds it gone and drops it.
    """
    session.execute(delete(Reminder).where(Reminder.order_id == order_id, Reminder.kind.in_(kinds)))


def start_verification(session: Session, order: Order, *, now: datetime) -> None:
    """Create the first reminder slot for each person, and the escalation slot, due now.

    Called in the transaction that moves ``order`` into awaiting_verification. Working hours,
    the schedule and the escalation delay are applied when the slot comes due (they need
    Settings and the person's Slack time zone, which must not be fetched under this lock).
    """
    session.flush()
    _clear_finished(session, order.id, (VERIFICATION, ESCALATION))
    for recipient in dict.fromkeys(people(order)):
        session.add(
            Reminder(
                order_id=order.id, kind=VERIFICATION, step=0, recipient_id=recipient, due_at=now
            )
        )
    session.add(
        Reminder(order_id=order.id, kind=ESCALATION, step=0, recipient_id=EVERYONE, due_at=now)
    )
    queries.record(session, order_id=order.id, actor="system", action="reminders_started")


def start_approval(
    session: Session, order: Order, *, approvers: Sequence[str], first_due: datetime, now: datetime
) -> None:
    """Create the first approval reminder slot for each approver, and the escalation slot.

    The request DM itself is step 0, so approvers are first reminded at step 1 (``first_due``,
    the schedule's first interval after the request).
    """
    session.flush()
    _clear_finished(session, order.id, (APPROVAL, APPROVAL_ESCALATION))
    for recipient in dict.fromkeys(approvers):
        session.add(
            Reminder(
                order_id=order.id, kind=APPROVAL, step=1, recipient_id=recipient, due_at=first_due
            )
        )
    session.add(
        Reminder(
            order_id=order.id, kind=APPROVAL_ESCALATION, step=0, recipient_id=EVERYONE, due_at=now
        )
    )


def stop_reminders(session: Session, order_id: int, *, kind: str | None) -> None:
    """Cancel every pending slot of ``kind`` (verification also stops its escalation), or of
    every kind when ``kind`` is None (the order ended).

    A slot already claimed by a worker is cancelled too: the worker re-reads the slot and the
    order right before posting and drops it.
    """
    which = [] if kind is None else [Reminder.kind.in_(_STOPPED_WITH.get(kind, (kind,)))]
    session.execute(
        update(Reminder)
        .where(Reminder.order_id == order_id, *which, *_pending())
        .values(cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def schedule_expiry(session: Session, order: Order, *, now: datetime) -> None:
    """Create expiry reminder slots 30, 14, 7 and 1 days before the certificate's not_after."""
    if order.not_after is None:
        return
    session.flush()
    _clear_finished(session, order.id, (EXPIRY,))
    for days, when in reminders.expiry_reminder_times(order.not_after, now=now):
        for recipient in dict.fromkeys(people(order)):
            session.add(
                Reminder(
                    order_id=order.id, kind=EXPIRY, step=days, recipient_id=recipient, due_at=when
                )
            )


def follow_watchers(
    session: Session,
    order: Order,
    *,
    added: Sequence[str],
    removed: Sequence[str],
    now: datetime,
) -> None:
    """Keep an order's reminders in step with its watchers: a new watcher joins the reminders
    under way (verification now, or the expiry notices still ahead); a removed one gets none."""
    if removed:
        session.execute(
            update(Reminder)
            .where(Reminder.order_id == order.id, Reminder.recipient_id.in_(removed), *_pending())
            .values(cancelled_at=now)
            .execution_options(synchronize_session=False)
        )
    if not added:
        return
    taken = set(
        session.execute(
            select(Reminder.kind, Reminder.step, Reminder.recipient_id).where(
                Reminder.order_id == order.id, Reminder.recipient_id.in_(added)
            )
        ).all()
    )
    wanted: list[tuple[str, int, datetime]] = []
    if order.state == "awaiting_verification":
        wanted.append((VERIFICATION, 0, now))
    elif order.state == "issued" and order.not_after is not None:
        wanted += [
            (EXPIRY, d, w) for d, w in reminders.expiry_reminder_times(order.not_after, now=now)
        ]
    for recipient in added:
        for kind, step, due in wanted:
            if (kind, step, recipient) not in taken:  # re-added in the same round: keep as is
                session.add(
                    Reminder(
                        order_id=order.id, kind=kind, step=step, recipient_id=recipient, due_at=due
                    )
                )


def chain_next(
    session: Session,
    row: Reminder,
    *,
    started: datetime,
    schedule: Sequence[timedelta],
    window_end: datetime,
    now: datetime,
) -> Reminder | None:
    """After a verification step is sent, add the recipient's next step (the first one due
    after ``now``, so a late reminder does not set off the ones it delayed)."""
    step = row.step + 1

    def due_at(step: int) -> datetime:
        # Slot 0 is the message sent at the start; the schedule's first interval leads to slot 1.
        return reminders.reminder_due(step=step - 1, started=started, schedule=schedule)

    while (due := due_at(step)) <= now:
        step += 1
    if due >= window_end:
        return None
    exists = select(Reminder.id).where(
        Reminder.order_id == row.order_id,
        Reminder.kind == row.kind,
        Reminder.recipient_id == row.recipient_id,
        Reminder.step >= step,
    )
    if session.scalars(exists).first() is not None:
        return None
    following = Reminder(
        order_id=row.order_id, kind=row.kind, step=step, recipient_id=row.recipient_id, due_at=due
    )
    session.add(following)
    return following


def fan_out_escalation(
    session: Session, row: Reminder, *, admins: Sequence[str], channel: str | None, now: datetime
) -> int:
    """Turn the escalation placeholder into one slot per admin and one for the channel."""
    recipients = [*sorted(admins), *([CHANNEL + channel] if channel else [])]
    for recipient in recipients:
        session.add(
            Reminder(
                order_id=row.order_id, kind=row.kind, step=1, recipient_id=recipient, due_at=now
            )
        )
    return len(recipients)


def snooze(session: Session, order_id: int, *, user_id: str, until: datetime) -> list[Reminder]:
    """Move ``user_id``'s pending verification reminders for the order to ``until`` at the
    earliest; return the rows moved."""
    rows = session.scalars(
        select(Reminder).where(
            Reminder.order_id == order_id,
            Reminder.kind == VERIFICATION,
            Reminder.recipient_id == user_id,
            *_pending(),
        )
    ).all()
    for row in rows:
        row.due_at = max(row.due_at, until)
    return list(rows)


def pending_for(
    session: Session, order_id: int, *, kinds: Sequence[str] = (VERIFICATION,)
) -> list[Reminder]:
    """Pending slots of an order, soonest first (for tests, status and the CLI)."""
    stmt = select(Reminder).where(
        Reminder.order_id == order_id, Reminder.kind.in_(kinds), *_pending()
    )
    return list(session.scalars(stmt.order_by(Reminder.due_at, Reminder.id)))
