"""Claiming due rows so that of several workers exactly one takes each (one lease rule).

A row is due when its due column is at or before now. Claiming moves that column one lease
ahead in a short transaction: the claimant works on the row, then sets the column to the
next time (or None); a claimant that dies frees the row when the lease runs out. PostgreSQL
skips rows another worker has locked (``FOR UPDATE SKIP LOCKED``); the compare-and-set on
the due value is what makes SQLite (which serialises writers) correct too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

#: How long a claim holds: longer than any one Slack or CA call with its retries, so a live
#: worker never loses a claim it is using.
LEASE = timedelta(minutes=5)


def due_statement(
    model: Any,
    due: InstrumentedAttribute[Any],
    *,
    now: datetime,
    where: Sequence[ColumnElement[bool]] = (),
    limit: int = 50,
) -> Select[Any]:
    """The rows ``claim_due`` would claim (the ids and due times), locked as it reads them."""
    return (
        select(model.id, due)
        .where(due.is_not(None), due <= now, *where)
        .order_by(due)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def claim_due(
    sessions: sessionmaker[Session],
    model: Any,
    due: InstrumentedAttribute[Any],
    *,
    now: datetime,
    where: Sequence[ColumnElement[bool]] = (),
    lease: timedelta = LEASE,
    limit: int = 50,
    skip: Callable[[Any], bool] | None = None,
) -> list[int]:
    """Claim up to ``limit`` due rows of ``model`` (oldest due first); return their ids.

    ``skip(row)`` leaves a due row unclaimed (someone else is known to be working on it).
    """
    values: dict[str, Any] = {due.key: now + lease}
    if hasattr(model, "version"):
        # Bump the optimistic-lock version, so a writer that read the row before this claim
        # fails its own write instead of undoing the claim.
        values["version"] = model.version + 1
    with sessions.begin() as session:
        found = due_statement(model, due, now=now, where=where, limit=limit)
        if skip:
            found = found.add_columns(model)
        rows = session.execute(found).all()
        claimed = []
        for row in rows:
            if skip and skip(row[2]):
                continue
            won = session.execute(
                update(model)
                .where(model.id == row[0], due == row[1])
                .values(values)
                .execution_options(synchronize_session=False)
            )
            if won.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(row[0])
        return claimed
