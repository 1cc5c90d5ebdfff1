"""Registering a purchased certificate as a new order: typed in, or picked from the CA account."""

from __future__ import annotations

from bot import events, workflow
from bot.ca.base import Purchase as CAPurchase
from bot.errors import Error
from bot.orders.telling import owe_person
from bot.products import Purchase
from bot.services import Services
from storage import queries
from storage.models import Order, utcnow


def register_order(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    purchase: Purchase,
    renewed_from_id: int | None = None,
    bought: CAPurchase | None = None,
    tell: bool = True,
) -> Order:
    """Create an order in state `purchased` for what ``user_id`` bought.

    ``bought``: the CA's record of the purchase, when it was picked from the CA account.
    ``tell``: owe the requester the "registered" DM (sent by ``announcements.announce``).
    """
    with services.sessions.begin() as session:
        if bought is not None and queries.purchases_registered(session, [bought.ref]):
            raise Error(
                f"The purchase {bought.ref} is already registered in certdesk; `/cert list` "
                "shows its order."
            )
        order = Order(
            team_id=team_id,
            requester_id=user_id,
            product=purchase.product,
            domain_type=purchase.domain_type,
            domain_count=purchase.domain_count,
            validity_days=purchase.validity_days,
            state=workflow.State.PURCHASED,
            renewed_from_id=renewed_from_id,
            purchase_ref=bought.ref if bought else None,
            purchase_key_algorithms=",".join(bought.key_algorithms) if bought else None,
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
            **({"purchase_ref": bought.ref} if bought else {}),
        )
        if tell:
            registered = events.Registered(
                ref=order.ref,
                order_id=order.id,
                product=order.product,
                domain_type=order.domain_type,
                domain_count=order.domain_count,
                validity_days=order.validity_days,
                purchase_ref=order.purchase_ref,
            )
            owe_person(session, services, order, user_id, registered, now=utcnow())
        loaded = queries.get_order(session, order.id)
        assert loaded is not None
    return loaded


def available_purchases(services: Services) -> list[CAPurchase]:
    """The CA account's purchases not yet registered in certdesk (that certdesk can take).

    Raises CAError when the CA cannot list them (its sentence says what to do).
    """
    found = [p for p in services.ca.purchases() if as_purchase(p) is not None]
    with services.sessions.begin() as session:
        taken = queries.purchases_registered(session, [p.ref for p in found])
    return [p for p in found if p.ref not in taken]


def register_from_account(
    services: Services, *, team_id: str, user_id: str, purchase_ref: str
) -> Order:
    """Register the CA purchase ``purchase_ref``: what was bought comes from the CA's record.

    Raises Error when the CA no longer lists it (applied, refunded) or certdesk has it already.
    """
    bought = next((p for p in services.ca.purchases() if p.ref == purchase_ref), None)
    purchase = as_purchase(bought) if bought else None
    if bought is None or purchase is None:
        raise Error(
            f"The {services.ca.name} account has no unused purchase {purchase_ref} any more "
            "(already applied for, refunded or closed). Run `/cert new` again to pick another."
        )
    return register_order(
        services, team_id=team_id, user_id=user_id, purchase=purchase, bought=bought
    )


def as_purchase(bought: CAPurchase) -> Purchase | None:
    """The CA's purchase in certdesk's terms, or None if certdesk cannot complete it."""
    total = bought.domain_count + bought.wildcard_count
    if bought.product not in ("dv", "ov", "ev") or total < 1:
        return None
    # A purchase with wildcards takes wildcard names; its exact names count towards the total.
    domain_type = "wildcard" if bought.wildcard_count else "single" if total == 1 else "multi"
    return Purchase(bought.product, domain_type, total, bought.validity_days)
