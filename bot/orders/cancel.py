"""Cancelling an order before it is issued: withdrawn at the CA first, then in certdesk.

Order of operations, and why: the CA is asked first, outside any transaction. If it
refuses or cannot be reached, nothing in certdesk has changed, the order keeps being
polled, and the person is told it still stands. Marking the order cancelled first would
risk the opposite: certdesk saying "cancelled" and no longer polling while the CA goes on
reviewing, mailing verification links and perhaps issuing. If certdesk stops between the
CA's yes and its own write, the CA's side is cancelled and the order still looks in
flight; the poller then sees the CA's `cancelled`, and cancelling again is harmless
(backends treat a second cancel as a no-op).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot import events, workflow
from bot.access import Need
from bot.errors import CAError, IllegalTransition
from bot.orders import approval, transitions
from bot.orders.announcements import announce
from bot.orders.lookup import load
from bot.orders.telling import owe_people, owe_person, refresh_homes
from bot.services import Services
from storage.models import Order, format_ref, utcnow

#: Attempts at catching up with an order sent to the CA while it was being cancelled.
_ROUNDS = 3


@dataclass(frozen=True)
class Cancelled:
    """An order that was cancelled: by whom, from which state, and whether the CA was told."""

    order_id: int
    ref: str
    owner: str
    actor: str
    previous: str
    at_ca: bool
    #: The approval request the cancel ended, whose approvers' messages must say so.
    approval_request: int | None = None


def check_cancellable(services: Services, order_id: int, *, user_id: str) -> Order:
    """The order, if ``user_id`` (owner or admin) may cancel it now; raise otherwise."""
    with services.sessions.begin() as session:
        order = load(session, services, order_id, user_id=user_id, need=Need.ACT)
        _require_cancellable(order)
        return order


def cancel_order(services: Services, order_id: int, *, user_id: str) -> Cancelled:
    """Withdraw the order at the CA (if it was sent there), then mark it cancelled.

    Raises CAError (worded for the person) when the CA refuses or is unreachable; the order
    is then left exactly as it was.
    """
    told_ca: set[str] = set()
    for _ in range(_ROUNDS):
        with services.sessions.begin() as session:
            order = load(session, services, order_id, user_id=user_id, need=Need.ACT)
            _require_cancellable(order)
            pending = _ca_ref_to_cancel(order)
            ref, state = order.ref, order.state
        if pending and pending not in told_ca:
            try:
                services.ca.cancel(pending)
            except CAError as exc:
                raise _refused(exc, ref=ref, state=state) from None
            told_ca.add(pending)
        with services.sessions.begin() as session:
            order = load(
                session, services, order_id, user_id=user_id, need=Need.ACT, for_update=True
            )
            _require_cancellable(order)
            if _ca_ref_to_cancel(order) not in (None, *told_ca):
                continue  # sent to the CA meanwhile: withdraw that submission too
            previous, now = order.state, utcnow()
            ended = approval.end_request(session, order_id, decision="cancelled", by=user_id)
            transitions.apply(
                session,
                order,
                workflow.Event.CANCEL,
                actor=user_id,
                now=now,
                action="cancelled",
                previous_state=previous,
                ca_ref=order.ca_ref,
                withdrawn_at_ca=bool(told_ca),
            )
            _owe(session, services, order, actor=user_id, at_ca=bool(told_ca), now=now)
            return Cancelled(
                order_id=order_id,
                ref=order.ref,
                owner=order.requester_id,
                actor=user_id,
                previous=previous,
                at_ca=bool(told_ca),
                approval_request=ended,
            )
    raise CAError(f"{format_ref(order_id)} kept changing while being cancelled; try again.")


def cancel_and_tell(services: Services, order_id: int, *, user_id: str) -> Cancelled:
    """Cancel the order and tell its requester, watchers, team channel and the canceller."""
    done = cancel_order(services, order_id, user_id=user_id)
    announce(services, order_id)
    if done.approval_request is not None:
        approval.close_ended(
            services, order_id, done.approval_request, by=user_id, decision="cancelled"
        )
    if done.actor != done.owner:
        refresh_homes(services, [done.actor])
    return done


def _owe(
    session: Session, services: Services, order: Order, *, actor: str, at_ca: bool, now: datetime
) -> None:
    """In the cancelling transaction: the order's people, and a canceller who is neither the
    owner nor a watcher (they read the same news through their own DM)."""
    owner = order.requester_id
    event = events.Cancelled(ref=order.ref, owner=owner, actor=actor, at_ca=at_ca)
    owe_people(session, services, order, event, now=now)
    if actor != owner and actor not in {w.user_id for w in order.watchers}:
        done = events.CancelDone(ref=order.ref, owner=owner, at_ca=at_ca)
        owe_person(session, services, order, actor, done, now=now)


def _ca_ref_to_cancel(order: Order) -> str | None:
    # Only an order the CA is still working on needs withdrawing; a failed one is over there.
    return order.ca_ref if order.state in workflow.IN_FLIGHT and order.ca_ref else None


def _require_cancellable(order: Order) -> None:
    state = workflow.State(order.state)
    if state is workflow.State.ISSUED:
        raise IllegalTransition(
            f"{order.ref} is already issued, so it can no longer be cancelled; "
            "an issued certificate is revoked instead."
        )
    if (state, workflow.Event.CANCEL) not in workflow.TRANSITIONS:
        raise IllegalTransition(f"{order.ref} is {workflow.describe(state)}; nothing to cancel.")


def _refused(exc: CAError, *, ref: str, state: str) -> CAError:
    stands = f"{ref} is not cancelled: it is still {workflow.describe(state)}."
    if exc.retryable:
        return CAError(
            f"{stands} The CA could not be reached ({exc}); try again in a few minutes.",
            retryable=True,
        )
    return CAError(f"{stands} The CA refused to withdraw it: {exc}")
