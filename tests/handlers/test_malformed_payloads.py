"""Signed, well-formed JSON with the wrong content, for every modal and button certdesk has.

Whatever a payload carries (a button value that is no number, private_metadata that is not
JSON or names no order, inputs of the wrong type, no user), certdesk answers below 500, logs
no traceback and no long line, and no order moves: the person gets a sentence instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from support.app_fixtures import ALICE, BOB, CAROL, Running
from support.journeys import register
from support.logs import Lines
from support.payloads import press

from bot.views import ids

MODALS = [
    ids.NEW_ORDER,
    ids.COMPLETE,
    ids.CONFIRM_SUBMIT,
    ids.KEY_DOWNLOAD,
    ids.CONFIRM_REVOKE,
    ids.CONFIRM_PURGE_KEY,
    ids.ADD_WATCHER,
    ids.CONFIRM_CANCEL,
    ids.REJECT_REASON,
    ids.OVERRIDE_REASON,
]
BUTTONS = [
    ids.OPEN_COMPLETE,
    ids.SHOW_STATUS,
    ids.CHECK_NOW,
    ids.RESEND_VERIFICATION,
    ids.SNOOZE,
    ids.REVISE,
    ids.RENEW,
    ids.DOWNLOAD_KEY,
    ids.DELETE_KEY_FILE,
    ids.PURGE_KEY,
    ids.OPEN_WATCHERS,
    ids.CANCEL_ORDER,
    ids.REVOKE,
    ids.APPROVE,
    ids.REJECT,
    ids.OPEN_NEW_ORDER,
    ids.LIST_OLDER,
    ids.LIST_NEWER,
]
INPUTS = [
    ids.PRODUCT,
    ids.DOMAIN_TYPE,
    ids.DOMAIN_COUNT,
    ids.VALIDITY,
    ids.DOMAINS,
    ids.APPLICANT_NAME,
    ids.APPLICANT_EMAIL,
    ids.ORG_LEGAL_NAME,
    ids.ORG_COUNTRY,
    ids.CSR_METHOD,
    ids.CSR_TEXT,
    ids.CSR_FILE,
    ids.WATCHER_USERS,
    ids.KEY_FORMAT,
    ids.KEY_PASSPHRASE,
    ids.KEY_PLAIN_OK,
    ids.REVOKE_REASON,
    ids.APPROVAL_REASON,
]
ELEMENT_TYPES = [
    "plain_text_input",
    "static_select",
    "radio_buttons",
    "checkboxes",
    "multi_users_select",
    "users_select",
    "file_input",
    "email_text_input",
    "no_such_type",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["1", "0", "-1", "CD-0001", "１", "²", "1e3", " 1 ", "9" * 40, "{}"]),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["1", "0", "-1", "CD-0001", "１", "²", "1e3", " 1 ", "9" * 40, "{}", ""]),
)


def mostly(well_formed: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly right-typed content (it passes the edge's shape check and reaches a listener),
    sometimes anything at all (the edge answers 400)."""
    return st.integers(0, 11).flatmap(lambda n: anything if n == 7 else well_formed)


# Never Alice (who owns the order) nor an admin: a well-formed request from them is no attack.
users = mostly(
    st.fixed_dictionaries({"id": st.one_of(st.sampled_from([BOB, CAROL]), st.text(min_size=1))})
)
metadata = mostly(
    st.one_of(
        texts,
        anything.map(json.dumps),
        st.fixed_dictionaries({"order_id": anything}).map(json.dumps),
        st.sampled_from(['{"order_id": 1}', '{"order_id": "1"}', '{"order_id": true}', "[1]"]),
    )
)
options = st.fixed_dictionaries({"value": texts})
contents = st.one_of(
    st.fixed_dictionaries({"value": st.one_of(st.none(), texts)}),
    st.fixed_dictionaries({"selected_option": st.one_of(st.none(), options)}),
    st.fixed_dictionaries({"selected_options": st.lists(options, max_size=3)}),
    st.fixed_dictionaries({"selected_users": st.lists(texts, max_size=3)}),
    st.fixed_dictionaries({"selected_user": st.one_of(st.none(), texts)}),
    st.fixed_dictionaries({"files": st.lists(st.fixed_dictionaries({"id": texts}), max_size=2)}),
)


@st.composite
def elements(draw: st.DrawFn) -> Any:
    """An input element of any type holding content of any (right-typed) kind."""
    return {"type": draw(st.sampled_from(ELEMENT_TYPES))} | draw(contents)


states = mostly(
    st.fixed_dictionaries(
        {
            "values": st.dictionaries(
                st.sampled_from(INPUTS),
                st.dictionaries(st.text(min_size=1, max_size=6), elements(), max_size=1),
                max_size=6,
            )
        }
    )
)
input_blocks = st.lists(
    st.fixed_dictionaries({"type": st.just("input"), "block_id": st.sampled_from(INPUTS)}),
    max_size=4,
)


@st.composite
def view_submissions(draw: st.DrawFn) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": "V1",
        "type": "modal",
        "callback_id": draw(st.sampled_from(MODALS)),
        "private_metadata": draw(metadata),
        "state": draw(states),
        "blocks": draw(mostly(input_blocks)),
    }
    return {
        "type": "view_submission",
        "team": draw(mostly(st.just({"id": "T0001"}))),
        "user": draw(users),
        "api_app_id": "A1",
        "trigger_id": draw(mostly(texts)),
        "view": view,
    }


@st.composite
def button_presses(draw: st.DrawFn) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action_id": draw(st.sampled_from(BUTTONS)),
        "block_id": "b1",
        "type": "button",
        "action_ts": "1.2",
    }
    if draw(st.integers(0, 4)):
        action["value"] = draw(mostly(texts))
    return {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": draw(users),
        "api_app_id": "A1",
        "trigger_id": draw(mostly(texts)),
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D1"},
        "actions": [action],
    }


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    handler = Lines()
    handler.setLevel(logging.INFO)
    loggers = [logging.getLogger(name) for name in ("", "slack_bolt", "bot", "handlers")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def snapshot(certdesk: Running) -> dict[str, Any]:
    """What a hostile request must not change: orders and their states, and every record."""
    from sqlalchemy import text

    with certdesk.services.engine.connect() as connection:
        orders = connection.execute(text("SELECT id, state FROM orders ORDER BY id")).all()
        counts = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in (
                "orders",
                "drafts",
                "watchers",
                "approval_requests",
                "audit_events",
                "private_keys",
                "delivered_files",
            )
        }
    return {"orders": [tuple(row) for row in orders], "counts": counts}


def check(certdesk: Running, log: Lines, payload: dict[str, Any], before: dict) -> None:
    log.records.clear()
    log.texts.clear()
    response = certdesk.slack.deliver("interactive", payload)
    certdesk.settle()
    event(f"HTTP {response.status}")  # --hypothesis-show-statistics: how far payloads got
    assert response.status < 500, response.body
    assert "Traceback" not in response.body
    tracebacks = [r.getMessage() for r in log.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks
    assert max((len(t) for t in log.texts), default=0) < 2000
    assert snapshot(certdesk) == before


FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FAST
@given(payload=view_submissions())
def test_malformed_view_submissions_get_an_answer_and_change_nothing(
    certdesk: Running, log_lines: Lines, payload: dict[str, Any]
) -> None:
    if not snapshot(certdesk)["orders"]:
        register(certdesk, ALICE)
        certdesk.settle()
    check(certdesk, log_lines, payload, snapshot(certdesk))


@FAST
@given(payload=button_presses())
def test_malformed_button_presses_get_an_answer_and_change_nothing(
    certdesk: Running, log_lines: Lines, payload: dict[str, Any]
) -> None:
    if not snapshot(certdesk)["orders"]:
        register(certdesk, ALICE)
        certdesk.settle()
    check(certdesk, log_lines, payload, snapshot(certdesk))


def test_a_button_that_names_no_order_is_answered_in_words(certdesk: Running) -> None:
    register(certdesk, ALICE)
    before = snapshot(certdesk)
    pressed = (ids.CANCEL_ORDER, ids.SHOW_STATUS, ids.APPROVE, ids.PURGE_KEY, ids.SNOOZE)
    for action_id, value in zip(pressed, ("CD-x", "1e3", "", "-1", "²"), strict=True):
        assert press(certdesk, ALICE, action_id, value) == 200
    said = [m.text for m in certdesk.emulator.dms_to(ALICE)]
    assert sum("does not name an order" in text for text in said) == len(pressed), said
    assert snapshot(certdesk) == before


def test_an_unknown_button_or_modal_is_refused_in_one_short_line(
    certdesk: Running, log_lines: Lines
) -> None:
    long = "x" * 50_000
    press_payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": BOB},
        "api_app_id": "A1",
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "no_such_button", "type": "button", "value": long}],
    }
    view_payload = {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": BOB},
        "view": {"id": "V1", "callback_id": "no_such_modal", "private_metadata": long},
    }
    for payload in (press_payload, view_payload):
        response = certdesk.slack.deliver("interactive", payload)
        assert 400 <= response.status < 500 and long not in response.body
    assert log_lines.texts and max(len(t) for t in log_lines.texts) < 2000
    assert not [r for r in log_lines.records if r.exc_info]
