"""People using certdesk over signed HTTP: the steps many end-to-end tests share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bot.views import ids
from storage import queries
from support.app_fixtures import Running, wait_for
from support.forms import GOOD_DV


def register(certdesk: Running, user: str, **values: object) -> str:
    """Register an order as ``user`` through the modal; return its ID from the DM."""

    def registered() -> list:
        return [m for m in certdesk.emulator.dms_to(user) if "registered" in m.text]

    before = len(registered())
    response = certdesk.slack.slash_command(user, "new")
    assert response.status == 200
    view = certdesk.emulator.current_view(user)
    assert view is not None and view["callback_id"] == ids.NEW_ORDER
    given = {
        ids.PRODUCT: "dv",
        ids.DOMAIN_TYPE: "multi",
        ids.DOMAIN_COUNT: "3",
        ids.VALIDITY: "200",
    }
    given.update(values)
    response = certdesk.slack.submit_view(user, given)
    assert response.status == 200 and response.json() in (None, {}), response.body
    dm = wait_for(lambda: registered()[before:], what="registration DM")
    match = re.search(r"CD-\d{4}", dm[-1].text)
    assert match
    return match.group(0)


def open_complete(certdesk: Running, user: str, ref: str) -> dict:
    """`/cert complete ID` as ``user``; the Complete modal they now see."""
    response = certdesk.slack.slash_command(user, f"complete {ref}")
    assert response.status == 200
    view = certdesk.emulator.current_view(user)
    assert view is not None and view["callback_id"] == ids.COMPLETE, response.body
    return view


def complete_and_submit(certdesk: Running, user: str, ref: str) -> None:
    """Complete ``ref`` with GOOD_DV and confirm the submission, as ``user``."""
    open_complete(certdesk, user, ref)
    assert certdesk.slack.submit_view(user, GOOD_DV).json()["response_action"] == "push"
    assert certdesk.slack.submit_view(user, {}).json() == {"response_action": "clear"}


def order_state(certdesk: Running, ref: str) -> str:
    """The order's state as stored now."""
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None
        return order.state


def open_watchers(certdesk: Running, user: str, ref: str) -> dict:
    """`/cert watchers ID` as ``user``; the watchers modal they now see."""
    certdesk.slack.slash_command(user, f"watchers {ref}")
    view = certdesk.emulator.current_view(user)
    assert view is not None and view["callback_id"] == ids.ADD_WATCHER
    return view


def set_watchers(certdesk: Running, user: str, ref: str, watchers: list[str]) -> dict | None:
    """Open the watchers modal and save ``watchers``; the ack's body."""
    open_watchers(certdesk, user, ref)
    response = certdesk.slack.submit_view(user, {ids.WATCHER_USERS: watchers})
    assert response.status == 200, response.body
    certdesk.settle()
    return response.json()


def watcher_ids(certdesk: Running, ref: str) -> list[str]:
    """The order's watchers as stored now, sorted."""
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None
        return sorted(w.user_id for w in order.watchers)


def audit_actions(certdesk: Running, ref: str) -> list[tuple[str, str, dict]]:
    """The order's audit trail as (actor, action, detail)."""
    with certdesk.services.sessions.begin() as session:
        return [
            (e.actor, e.action, dict(e.detail)) for e in queries.audit_trail(session, int(ref[3:]))
        ]


def button_elements(message: object) -> Iterator[dict[str, Any]]:
    """A message's buttons (the elements of its actions blocks), in order."""
    blocks = getattr(message, "blocks", None) or []
    for block in blocks:
        if block.get("type") == "actions":
            yield from block.get("elements", [])
