"""The end of a certificate's life: the expiry sweep, and renewing into a new prefilled order."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm.exc import StaleDataError

from bot import workflow
from bot.access import Need
from bot.errors import Error, IllegalTransition
from bot.orders import transitions
from bot.orders.announcements import announce, owe_expiry
from bot.orders.complete import values_from_order
from bot.orders.lookup import load
from bot.orders.register import register_order
from bot.orders.workspaces import acting_for_order
from bot.products import Purchase
from bot.services import Services
from storage import queries
from storage.models import Draft, Order, format_ref

logger = logging.getLogger(__name__)

#: Orders whose certificate can be renewed.
RENEWABLE = frozenset({workflow.State.ISSUED, workflow.State.EXPIRED, workflow.State.REVOKED})


def expire_due(services: Services, *, now: datetime) -> int:
    """Move issued orders past their not_after to `expired` and tell their people; return count."""
    with services.sessions.begin() as session:
        due = queries.certificates_past(session, now=now)
    expired = 0
    for order_id in due:
        try:
            not_after = _expire(services, order_id, now=now)
        except StaleDataError:
            continue  # another worker expired it (and tells its people)
        if not_after is None:
            continue
        expired += 1
        # Owed in the expiring transaction; a Slack failure here never ends the sweep.
        with acting_for_order(services, order_id):
            announce(services, order_id)
    return expired


def _expire(services: Services, order_id: int, *, now: datetime) -> datetime | None:
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id, for_update=True)
        if order is None or order.state != workflow.State.ISSUED:
            return None
        if order.not_after is None or order.not_after > now:
            return None
        transitions.apply(
            session,
            order,
            workflow.Event.EXPIRE,
            actor="system",
            now=now,
            action="expired",
            not_after=order.not_after.isoformat(),
        )
        owe_expiry(session, services, order, now=now)
        return order.not_after


def renew_order(services: Services, order_id: int, *, user_id: str) -> Order:
    """Start (or return the already started) renewal of an order: same purchase, prefilled.

    Only the owner or an admin may renew. The new order belongs to the old order's owner,
    and its draft holds the old application, so the Complete modal opens filled in.
    """
    with services.sessions.begin() as session:
        old = load(session, services, order_id, user_id=user_id, need=Need.ACT)
        if old.state not in RENEWABLE:
            raise IllegalTransition(
                f"{old.ref} is {workflow.describe(old.state)}; only an issued or expired "
                "certificate can be renewed."
            )
        ca = services.ca
        if ca.sells_purchases:
            # The purchase is used up once applied for: a prefilled order could not be applied.
            title = ca.display_name or ca.name
            raise Error(
                f"Renewing {old.ref} means buying a new certificate: a {title} purchase is "
                f"applied for once. Buy one on the {title} console ({ca.purchase_url}), then "
                "run `/cert new` and pick it; the Complete form asks for the same details."
            )
        existing = queries.renewal_of(session, order_id)
        if existing is not None:
            return existing  # a second click leads to the same renewal
        purchase = Purchase(
            product=old.product,
            domain_type=old.domain_type,
            domain_count=old.domain_count,
            validity_days=old.validity_days,
        )
        team_id, owner, values = old.team_id, old.requester_id, values_from_order(old)
    new = register_order(
        services,
        team_id=team_id,
        user_id=owner,
        purchase=purchase,
        renewed_from_id=order_id,
        tell=False,  # the renewal's own answer says it (and opens the Complete form)
    )
    with services.sessions.begin() as session:
        session.add(Draft(order_id=new.id, data=values, updated_by=user_id))
        for oid in (order_id, new.id):
            queries.record(
                session,
                order_id=oid,
                actor=user_id,
                action="renewal_started",
                old=format_ref(order_id),
                new=new.ref,
            )
    return new
