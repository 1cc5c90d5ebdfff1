"""With PostgreSQL frozen, every kind of Slack request is answered in time and in words.

The app's HTTP answers are read with Slack's own 3 s limit as the client's socket timeout (a
late answer fails the test by timing out); what comes after the ack (a DM, the Home tab) is
waited for. What a person typed into a modal stays in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support.app_fixtures import ALICE, Running, wait_for
from support.forms import GOOD_DV
from support.freeze import frozen
from support.journeys import open_complete, register
from support.payloads import press
from support.postgres import postgres_cluster

from bot.views import ids

AWAY = "database is not answering"
AWAY_IN_FORM = "database did not answer in time"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[str]:
    """A cluster of this module's own: freezing it disturbs no other test."""
    with postgres_cluster() as url:
        yield url


def typed_domains(desk: Running) -> object:
    view = desk.emulator.current_view(ALICE)
    assert view is not None and view["callback_id"] == ids.COMPLETE
    return view["state"]["values"][ids.DOMAINS][ids.DOMAINS]["value"]


def test_each_kind_of_request_is_answered_while_the_database_is_frozen(
    start_certdesk: Callable[..., Running], own_postgres: str
) -> None:
    desk = start_certdesk(DATABASE_URL=own_postgres)
    ref = register(desk, ALICE)
    order_id = int(ref[3:])
    open_complete(desk, ALICE, ref)
    desk.settle()
    dms_before = len(desk.emulator.dms_to(ALICE))
    desk.slack.timeout = 3  # Slack's limit: a later answer is no answer

    with frozen(own_postgres):
        # A slash command: its ack is the answer.
        status = desk.slack.slash_command(ALICE, f"status {ref}")
        assert status.status == 200 and AWAY in (status.json() or {}).get("text", "")

        # A modal submission: the modal stays open, with a sentence and what was typed.
        submitted = desk.slack.submit_view(ALICE, GOOD_DV)
        assert submitted.status == 200
        answer = submitted.json() or {}
        assert answer.get("response_action") == "errors"
        assert any(AWAY_IN_FORM in e or AWAY in e for e in answer["errors"].values()), answer
        assert typed_domains(desk) == GOOD_DV[ids.DOMAINS]

        # A button: acked at once, the refusal comes as a DM.
        assert press(desk, ALICE, ids.SHOW_STATUS, str(order_id)) == 200
        said = wait_for(
            lambda: [m.text for m in desk.emulator.dms_to(ALICE)[dms_before:] if AWAY in m.text],
            what="a DM saying the database is away",
        )
        assert len(said) == 1

        # The Home tab: Slack's event is acked, and the tab says why it has no orders.
        assert desk.slack.app_home_opened(ALICE).status == 200
        desk.settle()
        home = desk.emulator.home_view(ALICE)
        assert home is not None and AWAY in str(home["blocks"])

    # Thawed: the same modal, still holding what was typed, goes through.
    desk.slack.timeout = 10
    again = desk.slack.submit_view(ALICE, GOOD_DV)
    assert again.status == 200 and (again.json() or {}).get("response_action") == "push"


def test_a_modal_closed_while_the_database_is_frozen_says_the_draft_was_not_kept(
    start_certdesk: Callable[..., Running], own_postgres: str
) -> None:
    desk = start_certdesk(DATABASE_URL=own_postgres)
    ref = register(desk, ALICE)
    open_complete(desk, ALICE, ref)
    desk.settle()
    with frozen(own_postgres):
        desk.slack.timeout = 3
        assert desk.slack.close_view(ALICE).status == 200
        told = wait_for(
            lambda: [m for m in desk.emulator.dms_to(ALICE) if "not kept as a draft" in m.text],
            what="a DM saying the draft was not kept",
        )
        assert len(told) == 1
