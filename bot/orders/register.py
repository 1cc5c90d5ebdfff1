"""Registering a purchased certificate as a new order."""

from __future__ import annotations

from bot import workflow
from bot.products import Purchase
from bot.services import Services
from storage import queries
from storage.models import Order


def register_order(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    purchase: Purchase,
    renewed_from_id: int | None = None,
) -> Order:
    """Create an order in state `purchased` for what ``user_id`` bought."""
    with services.sessions.begin() as session:
        order = Order(
            team_id=team_id,
            requester_id=user_id,
            product=purchase.product,
            domain_type=purchase.domain_type,
            domain_count=purchase.domain_count,
            validity_days=purchase.validity_days,
            state=workflow.State.PURCHASED,
            renewed_from_id=renewed_from_id,
        )
        session.add(order)
        session.flush()
        queries.record(
            session,
            order_id=order.id,
            actor=user_id,
            action="registered",
            product=purchase.product,
            domain_type=purchase.domain_type,
            domain_count=purchase.domain_count,
            validity_days=purchase.validity_days,
        )
        loaded = queries.get_order(session, order.id)
        assert loaded is not None
    return loaded
