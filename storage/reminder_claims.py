"""Claiming due reminder slots in the database, so each is sent by exactly one worker.

A claim is a compare-and-set on the row: it succeeds only if the row is still unsent,
uncancelled and holds exactly the claim the worker read (none, or an expired lease).
PostgreSQL also skips rows another worker has locked (``FOR UPDATE SKIP LOCKED``); SQLite
serialises writers, and the compare-and-set is what makes both correct.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from storage import workspaces
from storage.claims import LEASE  # the one lease rule: longer than any Slack call's retries
from storage.models import Reminder

#: Owners (a process's claim prefix) whose claims were handed back: the process is exiting
#: and takes no more of them. The lock is held across each claim and each hand-back, so a
#: claim is either committed before its owner's hand-back (and handed back) or never taken.
#: A hand-back waits for a claim under way at most HAND_BACK_WAIT seconds (a claim stuck on
#: the database must not keep an exiting process); a claim that commits after it then gives
#: its row back itself.
_handed_back: set[str] = set()
_HANDING_BACK = threading.Lock()
HAND_BACK_WAIT = 2.0
#: How much of its worker id a claim's token keeps (then a random part): a process's owner
#: prefix (bot.jobs.process_owner) must fit, or its hand-back would match nothing.
TOKEN_WORKER_CHARS = 40


@dataclass(frozen=True)
class Claim:
    """A slot this worker holds until ``until``."""

    id: int
    order_id: int
    kind: str
    step: int
    recipient_id: str
    due_at: datetime
    attempts: int
    token: str
    until: datetime
    #: A previous claim ended without a clean finish (crash, 5xx): Slack may hold the message.
    maybe_posted: bool


def _claimable(now: datetime) -> list:
    return [
        Reminder.sent_at.is_(None),
        Reminder.cancelled_at.is_(None),
        Reminder.due_at <= now,
        or_(Reminder.claimed_until.is_(None), Reminder.claimed_until < now),
        # A workspace that uninstalled certdesk gets nothing until it installs again.
        Reminder.order_id.not_in(workspaces.paused_orders()),
    ]


def claim_next(
    sessions: sessionmaker[Session],
    *,
    worker_id: str,
    now: datetime,
    skip: set[int],
    lease: timedelta = LEASE,
) -> Claim | None:
    """Claim the most overdue claimable slot for ``lease`` (committed before returning), or
    None (also once ``worker_id``'s process has handed its claims back)."""
    with _HANDING_BACK:
        if _was_handed_back(worker_id):
            return None
        claim = _claim_next(sessions, worker_id=worker_id, now=now, skip=skip, lease=lease)
    if claim is not None and _was_handed_back(worker_id):  # the hand-back did not wait for it
        release(sessions, claim, due_at=claim.due_at, failed=False, maybe_posted=claim.maybe_posted)
        return None
    return claim


def _was_handed_back(worker_id: str) -> bool:
    # tuple(): a copy made at once, which a hand-back adding to the set cannot upset
    return any(worker_id.startswith(owner) for owner in tuple(_handed_back))


def _claim_next(
    sessions: sessionmaker[Session],
    *,
    worker_id: str,
    now: datetime,
    skip: set[int],
    lease: timedelta,
) -> Claim | None:
    for _ in range(20):  # each miss means another worker won that row; look again
        with sessions.begin() as session:
            stmt = select(Reminder).where(*_claimable(now))
            if skip:
                stmt = stmt.where(Reminder.id.not_in(skip))
            stmt = stmt.order_by(Reminder.due_at, Reminder.id).limit(1)
            row = session.scalars(stmt.with_for_update(skip_locked=True)).first()
            if row is None:
                return None
            token = f"{worker_id[:TOKEN_WORKER_CHARS]}:{uuid.uuid4().hex[:12]}"
            won = session.execute(
                update(Reminder)
                .where(
                    Reminder.id == row.id,
                    Reminder.sent_at.is_(None),
                    Reminder.cancelled_at.is_(None),
                    Reminder.claimed_by.is_not_distinct_from(row.claimed_by),
                    Reminder.claimed_until.is_not_distinct_from(row.claimed_until),
                )
                .values(claimed_by=token, claimed_until=now + lease)
                .execution_options(synchronize_session=False)
            )
            if won.rowcount == 1:  # type: ignore[attr-defined]
                return Claim(
                    id=row.id,
                    order_id=row.order_id,
                    kind=row.kind,
                    step=row.step,
                    recipient_id=row.recipient_id,
                    due_at=row.due_at,
                    attempts=row.attempts or 0,
                    token=token,
                    until=now + lease,
                    maybe_posted=row.claimed_by is not None,
                )
    return None


def held(session: Session, claim: Claim) -> Reminder | None:
    """The slot, if this claim still holds it and it is neither sent nor cancelled."""
    row = session.get(Reminder, claim.id, populate_existing=True)
    if row is None or row.claimed_by != claim.token or row.sent_at or row.cancelled_at:
        return None
    return row


def release(
    sessions: sessionmaker[Session],
    claim: Claim,
    *,
    due_at: datetime,
    failed: bool,
    maybe_posted: bool = False,
) -> None:
    """Give the slot back, due again at ``due_at``.

    ``failed`` counts an attempt; ``maybe_posted`` keeps this claim's token on the row so the
    next claimant looks in Slack for the message before posting (a 5xx may hide a success).
    """
    values: dict[str, object] = {
        "claimed_until": None,
        "claimed_by": claim.token if maybe_posted else None,
        "due_at": due_at,
    }
    if failed:
        values["attempts"] = Reminder.attempts + 1
        metrics.reminder_failed(claim.kind)
    with sessions.begin() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.id == claim.id, Reminder.claimed_by == claim.token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def drop(sessions: sessionmaker[Session], claim: Claim, *, now: datetime) -> None:
    """Cancel a claimed slot that must not be sent (the order moved on, the window closed)."""
    metrics.reminder_skipped(claim.kind)
    with sessions.begin() as session:
        session.execute(
            update(Reminder)
            .where(Reminder.id == claim.id, Reminder.sent_at.is_(None))
            .values(cancelled_at=now, claimed_until=None)
            .execution_options(synchronize_session=False)
        )


def release_owned(sessions: sessionmaker[Session], *, owner: str) -> int:
    """Free every unsent slot whose claim starts with ``owner`` (a process about to exit);
    this process claims nothing for ``owner`` afterwards.

    The claim's token stays on the row, so the next claimant looks in Slack before posting.
    """
    waited = _HANDING_BACK.acquire(timeout=HAND_BACK_WAIT)
    _handed_back.add(owner)
    try:
        return _free_owned(sessions, owner)
    finally:
        if waited:
            _HANDING_BACK.release()


def _free_owned(sessions: sessionmaker[Session], owner: str) -> int:
    with sessions.begin() as session:
        freed = session.execute(
            update(Reminder)
            .where(
                Reminder.claimed_by.startswith(owner, autoescape=True),
                Reminder.claimed_until.is_not(None),
                Reminder.sent_at.is_(None),
            )
            .values(claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return int(freed.rowcount)  # type: ignore[attr-defined]
