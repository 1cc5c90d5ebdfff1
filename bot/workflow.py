"""Order states and the one table of legal transitions; knows nothing of Slack or SQL."""

from __future__ import annotations

from enum import StrEnum

from bot.errors import IllegalTransition


class State(StrEnum):
    """Where an order stands."""

    PURCHASED = "purchased"
    AWAITING_APPROVAL = "awaiting_approval"
    SUBMITTED = "submitted"
    AWAITING_VERIFICATION = "awaiting_verification"
    FAILED = "failed"
    ISSUED = "issued"
    EXPIRED = "expired"
    REVOKED = "revoked"
    CANCELLED = "cancelled"


class Event(StrEnum):
    """What can happen to an order."""

    SUBMIT = "submit"
    REQUEST_APPROVAL = "request_approval"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    VERIFICATION_REQUESTED = "verification_requested"
    VERIFIED = "verified"
    FAIL = "fail"
    RESUBMIT = "resubmit"
    ISSUE = "issue"
    EXPIRE = "expire"
    REVOKE = "revoke"
    CANCEL = "cancel"


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.PURCHASED, Event.SUBMIT): State.SUBMITTED,
    (State.PURCHASED, Event.CANCEL): State.CANCELLED,
    (State.PURCHASED, Event.REQUEST_APPROVAL): State.AWAITING_APPROVAL,
    (State.AWAITING_APPROVAL, Event.APPROVE): State.SUBMITTED,
    (State.AWAITING_APPROVAL, Event.REJECT): State.FAILED,
    (State.AWAITING_APPROVAL, Event.WITHDRAW): State.PURCHASED,
    (State.AWAITING_APPROVAL, Event.CANCEL): State.CANCELLED,
    (State.SUBMITTED, Event.VERIFICATION_REQUESTED): State.AWAITING_VERIFICATION,
    (State.SUBMITTED, Event.FAIL): State.FAILED,
    (State.SUBMITTED, Event.ISSUE): State.ISSUED,
    (State.SUBMITTED, Event.CANCEL): State.CANCELLED,
    (State.AWAITING_VERIFICATION, Event.VERIFIED): State.SUBMITTED,
    (State.AWAITING_VERIFICATION, Event.FAIL): State.FAILED,
    (State.AWAITING_VERIFICATION, Event.ISSUE): State.ISSUED,
    (State.AWAITING_VERIFICATION, Event.CANCEL): State.CANCELLED,
    (State.FAILED, Event.RESUBMIT): State.SUBMITTED,
    (State.FAILED, Event.REQUEST_APPROVAL): State.AWAITING_APPROVAL,
    (State.FAILED, Event.CANCEL): State.CANCELLED,
    (State.ISSUED, Event.EXPIRE): State.EXPIRED,
    (State.ISSUED, Event.REVOKE): State.REVOKED,
}

#: States in which the application can still be edited and sent to the CA (or for approval).
EDITABLE = frozenset({State.PURCHASED, State.FAILED})
#: States in which opening the application to edit it is allowed: editing an order that
#: awaits approval withdraws the request first.
REVISABLE = EDITABLE | {State.AWAITING_APPROVAL}
#: States in which the CA is working on the order and should be polled.
IN_FLIGHT = frozenset({State.SUBMITTED, State.AWAITING_VERIFICATION})
#: States that end an order.
FINAL = frozenset({State.EXPIRED, State.REVOKED, State.CANCELLED})

_WORDS: dict[str, str] = {
    State.PURCHASED: "being prepared",
    State.AWAITING_APPROVAL: "waiting for approval",
    State.SUBMITTED: "under review by the CA",
    State.AWAITING_VERIFICATION: "waiting for domain verification",
    State.FAILED: "failed — needs revising",
    State.ISSUED: "issued",
    State.EXPIRED: "expired",
    State.REVOKED: "revoked",
    State.CANCELLED: "cancelled",
}


def next_state(state: State | str, event: Event | str) -> State:
    """Return the state ``event`` leads to from ``state``; raise IllegalTransition if none."""
    current, happening = State(state), Event(event)
    try:
        return TRANSITIONS[(current, happening)]
    except KeyError:
        raise IllegalTransition(
            f"An order that is {_WORDS[current]} cannot take the step “{happening.value}”."
        ) from None


def describe(state: State | str) -> str:
    """Plain words for a state, as shown to people (a State or its value)."""
    try:
        return _WORDS[state]  # a StrEnum hashes as its value: both find it
    except KeyError:
        raise ValueError(f"{state!r} is not an order state") from None
