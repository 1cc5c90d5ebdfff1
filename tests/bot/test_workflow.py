"""The transition table: every legal step, and every other step refused."""

from __future__ import annotations

import itertools

import pytest

from bot.errors import IllegalTransition
from bot.workflow import EDITABLE, FINAL, TRANSITIONS, Event, State, describe, next_state


def test_the_happy_path() -> None:
    state = State.PURCHASED
    for event in (Event.SUBMIT, Event.VERIFICATION_REQUESTED, Event.ISSUE, Event.EXPIRE):
        state = next_state(state, event)
    assert state is State.EXPIRED


def test_failure_then_resubmission() -> None:
    state = next_state(next_state(State.SUBMITTED, Event.FAIL), Event.RESUBMIT)
    assert state is State.SUBMITTED


@pytest.mark.parametrize(("state", "event"), list(itertools.product(State, Event)))
def test_every_pair_is_either_in_the_table_or_refused(state: State, event: Event) -> None:
    if (state, event) in TRANSITIONS:
        assert next_state(state, event) is TRANSITIONS[(state, event)]
    else:
        with pytest.raises(IllegalTransition, match=event.value):
            next_state(state, event)


def test_final_states_lead_nowhere() -> None:
    assert not [pair for pair in TRANSITIONS if pair[0] in FINAL]


def test_only_editable_states_accept_a_submission() -> None:
    submitting = {s for (s, e) in TRANSITIONS if e in (Event.SUBMIT, Event.RESUBMIT)}
    assert submitting == set(EDITABLE)


def test_every_state_has_words() -> None:
    assert all(describe(s) for s in State)


def test_approval_comes_before_the_ca_and_a_rejection_can_be_revised() -> None:
    state = next_state(State.PURCHASED, Event.REQUEST_APPROVAL)
    assert state is State.AWAITING_APPROVAL
    assert next_state(state, Event.APPROVE) is State.SUBMITTED
    rejected = next_state(state, Event.REJECT)
    assert rejected is State.FAILED
    assert next_state(rejected, Event.REQUEST_APPROVAL) is State.AWAITING_APPROVAL
    assert next_state(state, Event.WITHDRAW) is State.PURCHASED  # edited while waiting
    assert next_state(state, Event.CANCEL) is State.CANCELLED


def test_only_editable_states_can_ask_for_approval() -> None:
    asking = {s for (s, e) in TRANSITIONS if e is Event.REQUEST_APPROVAL}
    assert asking == set(EDITABLE)
