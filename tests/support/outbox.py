"""Owing events through the outbox as a use case does, and reading the outbox back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.orders.announcements import announce
from bot.orders.sender import send_due
from bot.orders.telling import owe_channel, owe_people
from bot.services import Services
from storage import deliveries, queries
from storage.models import Delivery, utcnow


def tell(services: Services, order_id: int, event: object, *, channel_only: bool = False) -> bool:
    """Owe ``event`` to the order's people (or its channel line only) in one transaction, then
    send it as the use cases do; whether nothing is left owed."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        if channel_only:
            owe_channel(session, services, order, event, now=utcnow())
        else:
            owe_people(session, services, order, event, now=utcnow())
    announce(services, order_id)
    return not pending(services, order_id)


def rows(services: Services, order_id: int | None = None) -> list[Delivery]:
    """Every outbox row (of one order), oldest first, detached."""
    with services.sessions.begin() as session:
        if order_id is not None:
            found = deliveries.of_order(session, order_id)
        else:
            found = list(session.scalars(select(Delivery).order_by(Delivery.id)))
        session.expunge_all()
        return found


def pending(services: Services, order_id: int | None = None) -> list[Delivery]:
    """Rows (of one order) not yet sent or given up."""
    return [r for r in rows(services, order_id) if r.status == deliveries.PENDING]


def drain(services: Services, *, rounds: int = 50, step: timedelta = timedelta(hours=1)) -> int:
    """Run the sweep at ever later times until nothing is pending; how many rounds it took."""
    now = utcnow()
    for done in range(1, rounds + 1):
        now += step
        send_due(services, now=now)
        if not pending(services):
            return done
    raise AssertionError(f"still pending after {rounds} sweeps: {pending(services)}")
