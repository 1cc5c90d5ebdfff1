"""Telling people what happened: owed as outbox rows, in the transaction of the change itself.

Rows are due at once (the real clock: a sweep run with a later ``now`` in tests still finds
them). A use case that changes an order calls ``owe_people`` (the requester, watchers, the team
channel), ``owe_person`` or ``owe_channel`` inside its own transaction: each message becomes a
``storage.deliveries`` row worded now by the Presenter port, so a crash or a Slack outage
after the commit delays it but cannot lose it. After the commit the use case calls
``bot.orders.announcements.announce`` to send the order's rows at once; the sender's sweep
sends what is left (``bot.orders.sender``).

``tell_person`` is the one direct DM left, for an answer to a person's own click that carries
no state change (a private key file's note): the caller tells the person if Slack fails.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from secrets import token_hex
from typing import Any

from sqlalchemy.orm import Session

from bot import teams
from bot.orders.home import refresh_home
from bot.ports import Message
from bot.services import Services
from storage import deliveries, queries
from storage.models import Order, utcnow

logger = logging.getLogger(__name__)


def people_of(services: Services, order_id: int) -> tuple[str, list[str]]:
    """(requester, watchers) of an order."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        return order.requester_id, [w.user_id for w in order.watchers]


def event_name(event: object) -> str:
    """What a delivery row says it carries: the event's class name in snake case."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", type(event).__name__).lower()


def owe_people(
    session: Session,
    services: Services,
    order: Order,
    event: object,
    *,
    now: datetime,
    channel: bool = True,
) -> None:
    """Owe the event to the order's requester, each watcher (plain words, no buttons) and,
    with ``channel``, the team channel's line to CERTDESK_NOTIFY_CHANNEL."""
    notice = services.presenter.notice(event)
    what, round_ = event_name(event), _round(now)
    _owe_dm(session, order, what, round_, order.requester_id, notice.main, now=now)
    for watcher in [w.user_id for w in order.watchers]:
        if watcher != order.requester_id:
            _owe_dm(session, order, what, round_, watcher, notice.watchers or notice.main, now=now)
    if channel:
        _owe_line(session, services, order, what, round_, notice.channel)


def owe_person(
    session: Session,
    services: Services,
    order: Order | None,
    user_id: str,
    event: object,
    *,
    now: datetime,
    about: dict[str, Any] | None = None,
) -> None:
    """Owe one person the event's main message (``order``: what it is about, if any;
    ``about``: facts the sender checks before sending, kept beside the message)."""
    owe_each(session, services, order, [user_id], event, now=now, about=about)


def owe_each(
    session: Session,
    services: Services,
    order: Order | None,
    user_ids: Sequence[str],
    event: object,
    *,
    now: datetime,
    about: dict[str, Any] | None = None,
) -> None:
    """``owe_person`` for each of ``user_ids``, the message worded once."""
    message, what, round_ = services.presenter.notice(event).main, event_name(event), _round(now)
    for user_id in user_ids:
        _owe_dm(session, order, what, round_, user_id, message, now=now, about=about)


def owe_channel(
    session: Session, services: Services, order: Order, event: object, *, now: datetime
) -> None:
    """Owe the event's channel line to the workspace's notify channel, if both exist."""
    line = services.presenter.notice(event).channel
    _owe_line(session, services, order, event_name(event), _round(now), line)


def _owe_line(
    session: Session,
    services: Services,
    order: Order,
    what: str,
    round_: str,
    line: Message | None,
) -> None:
    # The channel is read in the change's own transaction, not on a connection of its own.
    channel = services.notify_channel(order.team_id, session=session) if line else None
    if line is None or not channel:
        return
    deliveries.add(
        session,
        key=f"o{order.id}:{what}:{round_}:channel:{channel}",
        what=what,
        medium="channel",
        payload=as_payload(line),
        due_at=utcnow(),
        order_id=order.id,
        team_id=order.team_id,
        channel_id=channel,
    )


def owe_file(
    session: Session,
    order: Order,
    *,
    kind: str,
    filename: str,
    content: str,
    title: str,
    now: datetime,
) -> None:
    """Owe the requester a file in their DM (a CSR, a certificate chain: nothing secret)."""
    deliveries.add(
        session,
        key=f"o{order.id}:{kind}:{_round(now)}:file:{order.requester_id}",
        what=kind,
        medium="file",
        payload={"filename": filename, "title": title, "content": content},
        due_at=utcnow(),
        order_id=order.id,
        team_id=order.team_id,
        user_id=order.requester_id,
    )


def as_payload(message: Message) -> dict[str, Any]:
    """A message as a delivery row stores it."""
    return {"text": message.text, "blocks": [dict(b) for b in message.blocks]}


def as_message(payload: dict[str, Any]) -> Message:
    """A delivery row's message."""
    return Message(text=str(payload.get("text") or ""), blocks=tuple(payload.get("blocks") or ()))


def tell_person(services: Services, user_id: str, event: object) -> None:
    """DM one person now (raises SlackError if Slack fails)."""
    services.notifier.dm(user_id, services.presenter.notice(event).main)


def refresh_homes(services: Services, users: Sequence[str]) -> None:
    """Publish each user's Home tab as it stands now."""
    for user in dict.fromkeys(users):
        refresh_home(services, user)


def _owe_dm(
    session: Session,
    order: Order | None,
    what: str,
    round_: str,
    user_id: str,
    message: Message,
    *,
    now: datetime,
    about: dict[str, Any] | None = None,
) -> None:
    # A row about no order (a report to the admins) is written once by its guarded caller;
    # its key only has to differ from every other such row.
    scope = f"o{order.id}" if order is not None else f"t{teams.current() or '-'}:{token_hex(6)}"
    deliveries.add(
        session,
        key=f"{scope}:{what}:{round_}:dm:{user_id}",
        what=what,
        medium="dm",
        payload={**as_payload(message), **(about or {})},
        due_at=utcnow(),
        order_id=order.id if order is not None else None,
        team_id=order.team_id if order is not None else teams.current(),
        user_id=user_id,
    )


def _round(now: datetime) -> str:
    """Which change a row tells of: its time to the microsecond (one change of an order at a
    time, so an order's key never repeats)."""
    return str(int(now.timestamp() * 1_000_000))
