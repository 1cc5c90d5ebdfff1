"""The one place an order changes state: the workflow step, what it starts and stops, the audit.

Every use case that moves an order calls ``apply`` inside its own transaction, on the order
it loaded (locked where it matters). Entering or leaving a state has the same effects
whoever caused it:

- asking for approval: no CA reference, not polled (approval reminders are planned by the
  request, which knows the approvers);
- entering *submitted* through Submit, Resubmit or Approve: a fresh round (polled now);
- leaving *awaiting approval*: the approval reminders stop;
- entering *awaiting verification*: verification reminders start;
- leaving *awaiting verification*: they stop;
- entering *issued*: polling stops, expiry reminders are scheduled;
- entering *failed* or a final state: polling stops (a final state stops every reminder).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import metrics, workflow
from bot.workflow import Event, State
from storage import queries
from storage.models import Order
from storage.reminder_slots import schedule_expiry, start_verification, stop_reminders


def apply(
    session: Session,
    order: Order,
    event: Event,
    *,
    actor: str,
    now: datetime,
    action: str | None = None,
    **audit: Any,
) -> State:
    """Move ``order`` by ``event`` with its side effects and audit record; return the old state.

    Raises IllegalTransition (from the workflow table) when the step is not allowed.
    """
    before = State(order.state)
    after = workflow.next_state(before, event)
    order.state = after
    entered = order.state_changed_at or order.created_at
    if entered is not None:
        metrics.observe_transition(before, after, (now - entered).total_seconds())
    order.state_changed_at = now
    if event is Event.REQUEST_APPROVAL:
        order.submitted_at = now  # when the requester asked: approval reminders count from it
        order.failure_reason = None
        order.ca_ref = None
        order.next_poll_at = None
    if event in (Event.SUBMIT, Event.RESUBMIT, Event.APPROVE):
        order.submitted_at = now
        order.failure_reason = None
        order.ca_ref = None
        order.next_poll_at = now
        order.poll_failures = 0
    if before is State.AWAITING_VERIFICATION and after is not State.AWAITING_VERIFICATION:
        stop_reminders(session, order.id, kind="verification")
    if before is State.AWAITING_APPROVAL and after is not State.AWAITING_APPROVAL:
        stop_reminders(session, order.id, kind="approval")
    if after is State.AWAITING_VERIFICATION:
        order.verification_started_at = now
        start_verification(session, order, now=now)
    if after in (State.ISSUED, State.FAILED) or after in workflow.FINAL:
        order.next_poll_at = None
        order.poll_failures = 0
    if after is State.ISSUED:
        schedule_expiry(session, order, now=now)
    if after in workflow.FINAL:
        stop_reminders(session, order.id, kind=None)
    queries.record(session, order_id=order.id, actor=actor, action=action or event.value, **audit)
    return before
