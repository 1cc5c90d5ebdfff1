"""Sending the outbox: each owed DM, channel notice and file once, independently of the others.

Rows are claimed (``storage.deliveries.claim``: one sender per row, a lease that frees the
row if its sender dies) and each is sent on its own, so a channel that refuses certdesk never
holds back the requester's DM or files. Messages carry the tag ``delivery_id=<row id>`` in
their Slack message metadata. Before sending a row an earlier attempt may have delivered (an
answer lost after Slack acted, a sender that died mid-call) the sender looks in the
conversation for that tag, or for the file by name, and records what it finds instead of
sending again.

Retryable failures (outages, rate limits) back off and go on; a row Slack refuses
(``not_in_channel``, ``account_inactive``) ``REFUSED_TRIES`` times is given up, and a notify
channel that refuses is reported to the admins once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot import events, teams
from bot.errors import SlackError
from bot.orders.telling import as_message, owe_each
from bot.ports import Tag
from bot.services import Services
from storage import approvals, deliveries, queries
from storage.deliveries import Attempt
from storage.models import utcnow

logger = logging.getLogger(__name__)

#: The tag kind of a delivered message: ``{"delivery_id": <row id>}`` in its metadata.
TAG = "delivery"
#: The first retry's wait; each further one doubles it, up to ``MAX_WAIT``.
FIRST_WAIT, MAX_WAIT = timedelta(seconds=30), timedelta(minutes=30)
#: Attempts at a row Slack refuses outright (the bot may be invited meanwhile) before giving up.
REFUSED_TRIES = 3
#: How many rows one claim takes, and how many claims one sweep makes at most.
BATCH, MAX_BATCHES = 50, 40
#: The row of an approver's request DM (``telling.event_name(events.ApprovalAsked)``), and
#: the payload key naming the approval request it asks about.
APPROVAL_ASKED, REQUEST_ID = "approval_asked", "request_id"


def tag_of(delivery_id: int) -> Tag:
    """The metadata tag a delivery's message carries."""
    return Tag(TAG, delivery_id)


def send_due(
    services: Services, *, now: datetime, order_ids: Sequence[int | None] | None = None
) -> int:
    """Send every due row (of ``order_ids`` only, if given); return how many were sent.

    ``now`` is when the sweep runs (a test passes a later time); each batch and each attempt
    reads the clock again, so a long sweep neither sends under a lease that ran out nor
    backs off from a stale time.
    """
    sent = 0
    lease = services.settings.claim_lease
    # Until nothing due is left: a row sent frees the one owed after it to the same person.
    # Each claimed row is sent, given up or put off past ``now``, so this ends; the bound
    # only keeps one sweep from holding the worker for long.
    for _ in range(MAX_BATCHES):
        batch_at = max(now, utcnow())
        claimed = deliveries.claim(
            services.sessions, now=batch_at, lease=lease, order_ids=order_ids, limit=BATCH
        )
        for delivery_id in claimed:
            sent += send_one(services, delivery_id, held_until=batch_at + lease, now=now)
        if not claimed:
            break
    return sent


def send_one(services: Services, delivery_id: int, *, held_until: datetime, now: datetime) -> int:
    """Send one row claimed until ``held_until``; 1 if it is now recorded sent (or found
    already in Slack), else 0."""
    now = max(now, utcnow())
    lease = services.settings.claim_lease
    with services.sessions.begin() as session:
        attempt = deliveries.start(
            session, delivery_id, held_until=held_until, now=now, lease=lease
        )
        if attempt is not None and not _still_wanted(session, attempt):
            deliveries.give_up(session, attempt.id, attempt.token, error="no longer wanted")
            return 0
    if attempt is None:
        return 0
    with teams.acting_for(attempt.team_id or teams.current()):
        try:
            channel, ref = _deliver(services, attempt)
        except SlackError as exc:
            _failed(services, attempt, exc, now=now)
            return 0
        except Exception as exc:  # a bug or the database: the row waits for the next sweep
            logger.exception("delivery %s (%s) failed; tried again later", attempt.id, attempt.what)
            _retry(services, attempt, now=now, error=type(exc).__name__, in_doubt=True)
            return 0
        with services.sessions.begin() as session:
            finished = deliveries.finish(
                session, attempt.id, attempt.token, ref=ref, channel=channel,
                payload=attempt.payload,
            )  # fmt: skip
            if finished and attempt.what == APPROVAL_ASKED:
                _remember_approval_request(session, attempt, channel=channel, ts=ref)
            if finished and attempt.medium == "file" and attempt.order_id is not None:
                queries.record_file(
                    session,
                    order_id=attempt.order_id,
                    user_id=attempt.user_id or "",
                    channel_id=channel,
                    slack_file_id=ref,
                    kind=attempt.what[:16],
                    filename=str(attempt.payload["filename"]),
                )
    return 1 if finished else 0


def _still_wanted(session: Session, attempt: Attempt) -> bool:
    """False for an approver's request whose request was decided, withdrawn or replaced
    meanwhile: its buttons would stand for an application no longer asked about."""
    if attempt.what != APPROVAL_ASKED:
        return True
    request = approvals.open_request(session, attempt.order_id) if attempt.order_id else None
    return request is not None and request.id == attempt.payload.get(REQUEST_ID)


def _remember_approval_request(
    session: Session, attempt: Attempt, *, channel: str, ts: str
) -> None:
    """Keep where an approver's request DM landed, so the decision can update it."""
    assert attempt.user_id
    request_id = int(attempt.payload[REQUEST_ID])
    approvals.remember_message(
        session, request_id, approver_id=attempt.user_id, channel_id=channel, ts=ts
    )


def _deliver(services: Services, attempt: Attempt) -> tuple[str, str]:
    """Send the row (or find it already sent); (channel, ts or file id). Raises SlackError."""
    notifier, payload = services.notifier, attempt.payload
    if attempt.medium == "file":
        assert attempt.user_id
        filename = str(payload["filename"])
        if attempt.in_doubt:
            channel = notifier.dm_channel(attempt.user_id)
            found = look_up(
                lambda: notifier.find_file(channel, filename, since=attempt.created_at),
                about=f"delivery {attempt.id}",
            )
            if found is not None:
                return channel, found
        return notifier.upload_to_dm(
            attempt.user_id,
            filename=filename,
            content=str(payload["content"]).encode(),
            title=str(payload.get("title") or filename),
        )
    if attempt.medium == "channel":
        channel = attempt.channel_id or ""
    else:
        assert attempt.user_id
        channel = notifier.dm_channel(attempt.user_id)
    tag = tag_of(attempt.id)
    if attempt.in_doubt:
        found = look_up(lambda: notifier.find_tagged(channel, tag), about=f"delivery {attempt.id}")
        if found is not None:
            return channel, found
    return channel, notifier.post(channel, as_message(payload), tag=tag)


def look_up(find: Callable[[], str | None], *, about: str) -> str | None:
    """What an earlier attempt at ``about`` left in the conversation (a tagged message, a
    file), if anything. Raises SlackError for an outage; if certdesk may not read the
    conversation it logs that and answers None: a possible double beats a loss."""
    try:
        return find()
    except SlackError as exc:
        if exc.retryable:
            raise
        logger.error("cannot look in Slack for an earlier %s: %s", about, exc.code or exc)
        return None


def _failed(services: Services, attempt: Attempt, exc: SlackError, *, now: datetime) -> None:
    where = attempt.channel_id if attempt.medium == "channel" else attempt.user_id
    error = exc.code or str(exc)
    # A look-up that failed sent nothing, but the attempt before it may have: keep the doubt.
    in_doubt = exc.maybe_delivered or attempt.in_doubt
    refusals = attempt.refusals + (0 if exc.retryable else 1)
    if refusals < REFUSED_TRIES:
        logger.warning(
            "delivery %s (%s to %s), attempt %d: %s; tried again later",
            attempt.id, attempt.what, where, attempt.attempts, error,
        )  # fmt: skip
        _retry(
            services, attempt, now=now, error=error, in_doubt=in_doubt,
            after=exc.retry_after, refused=not exc.retryable,
        )  # fmt: skip
        return
    logger.error(
        "delivery %s (%s to %s) refused for good: %s", attempt.id, attempt.what, where, error
    )
    with services.sessions.begin() as session:
        gave_up = deliveries.give_up(session, attempt.id, attempt.token, error=error)
    if gave_up and attempt.medium == "channel" and attempt.channel_id:
        report_unreachable_channel(services, attempt.channel_id, exc.code, now=now)


def _retry(
    services: Services,
    attempt: Attempt,
    *,
    now: datetime,
    error: str,
    in_doubt: bool,
    after: float | None = None,
    refused: bool = False,
) -> None:
    wait = min(FIRST_WAIT * 2 ** (attempt.attempts - 1), MAX_WAIT)
    if after:
        wait = max(wait, timedelta(seconds=after))
    with services.sessions.begin() as session:
        deliveries.retry(
            session, attempt.id, attempt.token, at=now + wait, error=error[:500],
            in_doubt=in_doubt, refused=refused,
        )  # fmt: skip


def report_unreachable_channel(
    services: Services, channel: str, code: str, *, now: datetime
) -> None:
    """Tell the admins once that the notify channel refuses certdesk's posts (owed, then sent)."""
    admins = sorted(services.admins())
    event = events.NotifyChannelRefused(channel=channel, error=code)
    with services.sessions.begin() as session:
        if queries.channel_problem_reported(session, channel):
            return
        queries.record(
            session, order_id=None, actor="system", action="notify_channel_refused",
            channel=channel, error=code,
        )  # fmt: skip
        owe_each(session, services, None, admins, event, now=now)
    send_due(services, now=now, order_ids=[None])
