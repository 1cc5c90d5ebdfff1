"""An order already loaded, as the row a list reads for it (the oracle for storage.order_rows)."""

from __future__ import annotations

from storage.models import Order
from storage.order_rows import NAMES_SHOWN, ListedOrder


def listed(order: Order) -> ListedOrder:
    """The row a list would read for an order already loaded (its domains and key too)."""
    key = order.private_key
    return ListedOrder(
        id=order.id,
        requester_id=order.requester_id,
        state=order.state,
        product=order.product,
        domain_type=order.domain_type,
        domain_count=order.domain_count,
        validity_days=order.validity_days,
        purchase_ref=order.purchase_ref,
        failure_reason=order.failure_reason,
        csr_method=order.csr_method,
        key_sealed=key is not None and key.ciphertext is not None and key.purged_at is None,
        names=tuple(d.display for d in order.domains[:NAMES_SHOWN]),
        names_total=len(order.domains),
    )
