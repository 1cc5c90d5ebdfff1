"""Two certdesk apps in one process each route `/cert <word> ID` to their own store."""

from __future__ import annotations

from collections.abc import Callable

from support.app_fixtures import ALICE, Running
from support.journeys import register

from bot.views import ids


def test_two_apps_in_one_process_each_use_their_own_store(
    start_certdesk: Callable[..., Running],
) -> None:
    first, second = start_certdesk(), start_certdesk()
    assert first.services.settings.data_dir != second.services.settings.data_dir
    ref = register(first, ALICE)  # an order in the first app's database only

    answer = second.slack.slash_command(ALICE, f"complete {ref}").json()
    assert answer is not None and f"There is no order {ref}" in answer["text"]

    # Built second, the other app must not have taken over the first one's `/cert complete`.
    assert first.slack.slash_command(ALICE, f"complete {ref}").status == 200
    view = first.emulator.current_view(ALICE)
    assert view is not None and view["callback_id"] == ids.COMPLETE
    assert ref in str(view["blocks"])
