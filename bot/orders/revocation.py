"""Revoking an issued certificate from Slack: at the CA first, then the order becomes `revoked`.

The CA is asked first, outside any transaction: if it refuses or cannot be reached, the
order stays `issued` and the person is told why. Only after the CA's yes does certdesk
record the revocation, so certdesk never claims a certificate is revoked while browsers
still trust it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import events, workflow
from bot.access import Need
from bot.ca.base import CABackend
from bot.errors import CAError, IllegalTransition
from bot.orders import transitions
from bot.orders.announcements import announce
from bot.orders.lookup import load
from bot.orders.telling import owe_people, owe_person, refresh_homes
from bot.services import Services
from storage.models import Order, utcnow

#: RFC 5280 §5.3.1 CRLReason codes a subscriber may give (those Let's Encrypt accepts),
#: with the words shown in the confirmation modal.
REASONS: dict[int, tuple[str, str]] = {
    0: ("unspecified", "No particular reason"),
    1: ("keyCompromise", "The private key was exposed or lost"),
    3: ("affiliationChanged", "The organization or its name changed"),
    4: ("superseded", "Replaced by a new certificate"),
    5: ("cessationOfOperation", "The domains are no longer used"),
}


@dataclass(frozen=True)
class Revoked:
    """A revoked order: who revoked it, and why."""

    order_id: int
    ref: str
    owner: str
    actor: str
    reason: int


def reason_code(value: str) -> int:
    """The CRLReason code chosen in the modal; raise CAError for anything else."""
    try:
        code = int(value)
    except (TypeError, ValueError):
        code = -1
    if code not in REASONS:
        raise CAError(f"“{value}” is not a revocation reason certdesk can send to the CA.")
    return code


def check_revocable(services: Services, order_id: int, *, user_id: str) -> Order:
    """The order, if ``user_id`` (owner or admin) may revoke it now; raise otherwise."""
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT)
        _require_revocable(order, services.ca)
        return order


def revoke_order(services: Services, order_id: int, *, user_id: str, reason: int) -> Revoked:
    """Revoke the order's certificate at the CA, then mark the order revoked and audit it.

    Raises CAError (worded for the person) when the CA refuses or cannot be reached; the
    order then stays issued.
    """
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT)
        _require_revocable(order, services.ca)
        ca_ref, chain, ref = order.ca_ref or "", (order.certificate_pem or "").encode(), order.ref
    try:
        services.ca.revoke(ca_ref, chain, reason=reason)
    except CAError as exc:
        stands = f"{ref} is not revoked: its certificate is still valid."
        if exc.retryable:
            raise CAError(f"{stands} {exc} Try again in a few minutes.", retryable=True) from None
        raise CAError(f"{stands} The CA refused: {exc}") from None
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT, for_update=True)
        if order.state != workflow.State.REVOKED:  # two confirmations at once revoke once
            now = utcnow()
            transitions.apply(
                session,
                order,
                workflow.Event.REVOKE,
                actor=user_id,
                now=now,
                action="revoked",
                reason=REASONS[reason][0],
                reason_code=reason,
                ca=services.ca.name,
                ca_ref=ca_ref,
            )
            # Owed with the revocation itself: told to everyone even if Slack is away now.
            owner, why = order.requester_id, REASONS[reason][1].lower()
            event = events.Revoked(ref=ref, owner=owner, actor=user_id, why=why)
            owe_people(session, services, order, event, now=now)
            if user_id != owner:
                done = events.RevokeDone(ref=ref, owner=owner)
                owe_person(session, services, order, user_id, done, now=now)
        return Revoked(
            order_id=order_id, ref=ref, owner=order.requester_id, actor=user_id, reason=reason
        )


def revoke_and_tell(services: Services, order_id: int, *, user_id: str, reason: int) -> Revoked:
    """Revoke, then tell the requester, watchers, the team channel and (if other) the revoker."""
    done = revoke_order(services, order_id, user_id=user_id, reason=reason)
    announce(services, order_id)
    if done.actor != done.owner:
        refresh_homes(services, [done.actor])
    return done


def _require_revocable(order: Order, ca: CABackend) -> None:
    state = workflow.State(order.state)
    if state is workflow.State.REVOKED:
        raise IllegalTransition(f"{order.ref} is already revoked; nothing more to do.")
    if state is not workflow.State.ISSUED or not order.certificate_pem or not order.ca_ref:
        raise IllegalTransition(
            f"{order.ref} is {workflow.describe(state)}: only an issued certificate can be "
            "revoked." + (" Cancel the order instead." if state in workflow.IN_FLIGHT else "")
        )
    if order.ca_name and order.ca_name != ca.name:
        raise CAError(
            f"{order.ref} was issued by the {order.ca_name} CA, but certdesk now uses the "
            f"{ca.name} CA; revoke it with {order.ca_name} directly."
        )
