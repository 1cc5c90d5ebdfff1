"""The outbox: rows for every DM, channel notice and file owed to someone, and their claims.

A row is written in the transaction of the change it tells of (``add``), then claimed by one
sender at a time (``claim``: ``storage.claims`` moves ``due_at`` a lease ahead) and finished
under that claim's token (``finish``, ``retry``, ``give_up``), so a sender whose lease ran out
cannot overwrite what the next one did.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from storage.claims import claim_due
from storage.models import Delivery, utcnow
from storage.workspaces import inactive_teams

PENDING, SENT, GIVEN_UP = "pending", "sent", "given_up"


def add(
    session: Session,
    *,
    key: str,
    what: str,
    medium: str,
    payload: dict[str, Any],
    due_at: datetime,
    order_id: int | None = None,
    team_id: str | None = None,
    user_id: str | None = None,
    channel_id: str | None = None,
) -> Delivery | None:
    """Owe one delivery (in the caller's transaction); None if ``key`` is already owed."""
    if session.scalar(select(Delivery.id).where(Delivery.key == key)) is not None:
        return None
    row = Delivery(
        key=key,
        what=what,
        medium=medium,
        payload=payload,
        due_at=due_at,
        order_id=order_id,
        team_id=team_id,
        user_id=user_id,
        channel_id=channel_id,
        status=PENDING,
        attempts=0,
        refusals=0,
        in_doubt=False,
    )
    session.add(row)
    return row


def claim(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    lease: timedelta,
    order_ids: Sequence[int | None] | None = None,
    limit: int = 50,
) -> list[int]:
    """Claim up to ``limit`` due pending rows (of ``order_ids`` only, if given; None in it
    stands for rows about no order, such as a report to the admins), none while an earlier
    row of its order to the same person by the same medium is still pending."""
    return claim_due(
        sessions,
        Delivery,
        Delivery.due_at,
        now=now,
        where=due_where(order_ids),
        lease=lease,
        limit=limit,
    )


def due_where(order_ids: Sequence[int | None] | None = None) -> list[ColumnElement[bool]]:
    """What ``claim`` asks of a due row besides its time (see ``claim``)."""
    earlier = aliased(Delivery)
    where: list[ColumnElement[bool]] = [
        Delivery.status == PENDING,
        # A workspace that uninstalled certdesk is not written to until it installs again.
        or_(Delivery.team_id.is_(None), Delivery.team_id.not_in(inactive_teams())),
        # In the order they were owed, per order, person (or channel) and medium: after an
        # outage "submitted" still comes before "issued".
        ~exists().where(
            earlier.order_id == Delivery.order_id,
            earlier.id < Delivery.id,
            earlier.status == PENDING,
            earlier.medium == Delivery.medium,
            earlier.user_id.is_not_distinct_from(Delivery.user_id),
        ),
    ]
    if order_ids is not None:
        ids = [i for i in order_ids if i is not None]
        about = [Delivery.order_id.in_(ids)] if ids else []
        if None in order_ids:
            about.append(Delivery.order_id.is_(None))
        where.append(or_(*about) if about else Delivery.id.is_(None))
    return where


@dataclass(frozen=True)
class Attempt:
    """One claimed row as its sender needs it, with the token that lets it record the end."""

    id: int
    token: str
    order_id: int | None
    team_id: str | None
    what: str
    medium: str
    user_id: str | None
    channel_id: str | None
    payload: dict[str, Any]
    attempts: int
    #: How many attempts Slack refused outright (not_in_channel...), outages not counted.
    refusals: int
    #: An earlier attempt may have reached Slack: look in the conversation before sending.
    in_doubt: bool
    created_at: datetime


def start(
    session: Session, delivery_id: int, *, held_until: datetime, now: datetime, lease: timedelta
) -> Attempt | None:
    """Begin an attempt on a row this sender claimed (its claim ran to ``held_until``): count
    it, mark it in doubt, renew the lease from ``now`` and hand out the attempt's token.

    None when the row is no longer this claim's: sent meanwhile, or claimed by another sender
    after this one's lease ran out while it worked through its batch.
    """
    row = session.get(Delivery, delivery_id, with_for_update=True)
    if row is None or row.status != PENDING or row.due_at != held_until:
        return None
    attempt = Attempt(
        id=row.id,
        token=secrets.token_hex(16),
        order_id=row.order_id,
        team_id=row.team_id,
        what=row.what,
        medium=row.medium,
        user_id=row.user_id,
        channel_id=row.channel_id,
        payload=dict(row.payload),
        attempts=row.attempts + 1,
        refusals=row.refusals,
        in_doubt=bool(row.in_doubt),
        created_at=row.created_at,
    )
    # Until this attempt's outcome is recorded, a crash leaves Slack's side unknown.
    row.lease, row.attempts, row.in_doubt = attempt.token, attempt.attempts, True
    row.due_at = now + lease  # the attempt's own lease: no one else takes the row meanwhile
    return attempt


#: What a sent row keeps of its payload: the message and the file's content go (a chain,
#: a CSR, blocks naming the applicant: kilobytes an order, for nothing once delivered).
RECEIPT_KEYS = ("filename", "title")


def finish(
    session: Session,
    delivery_id: int,
    token: str,
    *,
    ref: str,
    channel: str,
    payload: dict[str, Any],
) -> bool:
    """Record the row as sent (``ref``: the ts or file id), keeping only a receipt of its
    ``payload``; False if the claim was lost."""
    return _set(
        session,
        delivery_id,
        token,
        payload={k: payload[k] for k in RECEIPT_KEYS if k in payload},
        status=SENT,
        slack_ref=ref[:64],
        channel_id=channel,
        sent_at=utcnow(),
        due_at=None,
        lease=None,
        in_doubt=False,
        last_error=None,
    )


def retry(
    session: Session,
    delivery_id: int,
    token: str,
    *,
    at: datetime,
    error: str,
    in_doubt: bool,
    refused: bool = False,
) -> bool:
    """Try the row again at ``at``; ``in_doubt``: the failed attempt may have reached Slack;
    ``refused``: Slack refused it outright (counted towards giving up)."""
    values: dict[str, Any] = {"due_at": at, "lease": None, "in_doubt": in_doubt}
    if refused:
        values["refusals"] = Delivery.refusals + 1
    return _set(session, delivery_id, token, last_error=error, **values)


def give_up(session: Session, delivery_id: int, token: str, *, error: str) -> bool:
    """Stop trying the row (Slack refused it for good, or it is no longer wanted); like a sent
    row it keeps only a receipt of its payload."""
    row = session.get(Delivery, delivery_id)
    receipt = {k: v for k, v in (row.payload if row else {}).items() if k in RECEIPT_KEYS}
    return _set(
        session, delivery_id, token, status=GIVEN_UP, due_at=None, lease=None,
        last_error=error, payload=receipt,
    )  # fmt: skip


def drop_pending(session: Session, order_id: int, *, what: str, why: str) -> int:
    """Give up the order's unsent rows of one kind (superseded before Slack let them through);
    how many. A sender already sending one still records it sent."""
    done = session.execute(
        update(Delivery)
        .where(Delivery.order_id == order_id, Delivery.what == what, Delivery.status == PENDING)
        .values(status=GIVEN_UP, due_at=None, last_error=why, payload={})
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def done_before(cutoff: datetime, *, limit: int) -> Select[Any]:
    """The ids ``forget_before`` deletes: rows done with, owed before ``cutoff``, oldest first."""
    return (
        select(Delivery.id)
        .where(Delivery.created_at < cutoff, Delivery.status != PENDING)
        .order_by(Delivery.created_at)
        .limit(limit)
    )


def forget_before(session: Session, cutoff: datetime, *, limit: int = 1000) -> int:
    """Delete up to ``limit`` rows owed before ``cutoff`` that are done with (sent or given
    up), oldest first; how many. Their keys are never owed again (each names its moment)."""
    oldest = done_before(cutoff, limit=limit)
    done = session.execute(delete(Delivery).where(Delivery.id.in_(oldest)))
    return int(done.rowcount)  # type: ignore[attr-defined]


def of_order(session: Session, order_id: int) -> list[Delivery]:
    """Every row of an order, oldest first."""
    query = select(Delivery).where(Delivery.order_id == order_id)
    return list(session.scalars(query.order_by(Delivery.id)))


def _set(session: Session, delivery_id: int, token: str, **values: Any) -> bool:
    done = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.lease == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]
