"""Reading what a request carries: a view's state.values, order ids in buttons and metadata."""

from __future__ import annotations

import json
from typing import Any

from bot.approval_form import SEEN_DIGEST
from bot.errors import NotFound


def _chosen(option: object) -> Any:
    return option.get("value") if isinstance(option, dict) else None


def _listed(items: object) -> list[Any]:
    return list(items) if isinstance(items, list) else []


def element_value(element: dict[str, Any]) -> Any:
    """The value of one input element, whatever its type (None or [] for what is malformed)."""
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons", "external_select"):
        return _chosen(element.get("selected_option"))
    if kind in ("checkboxes", "multi_static_select"):
        return [_chosen(o) for o in _listed(element.get("selected_options"))]
    if kind == "multi_users_select":
        return _listed(element.get("selected_users"))
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "file_input":
        return _listed(element.get("files"))
    return element.get("value")


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """Every input's value keyed by block id (each input block holds one element)."""
    values: dict[str, Any] = {}
    state = view.get("state") if isinstance(view, dict) else None
    blocks = state.get("values") if isinstance(state, dict) else None
    for block_id, elements in (blocks if isinstance(blocks, dict) else {}).items():
        for element in (elements if isinstance(elements, dict) else {}).values():
            if isinstance(element, dict):
                values[block_id] = element_value(element)
    return values


#: Said when a button or a form does not name an order certdesk could have put there.
NO_ORDER = "That {what} does not name an order. Use `/cert list` to find yours."


def order_id(value: object, *, what: str = "button") -> int:
    """The order number a button's value carries; NotFound with a sentence when it is not one."""
    text = value if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 18):
        raise NotFound(NO_ORDER.format(what=what))
    return int(text)


def order_and_seen(value: object) -> tuple[int, str | None]:
    """An approval button's order and the application digest its message showed, if any
    (``<order id>:<digest prefix>``); NotFound with a sentence when it is neither."""
    text = value if isinstance(value, str) else ""
    number, _, seen = text.partition(":")
    if seen and not _is_seen_digest(seen):
        raise NotFound(NO_ORDER.format(what="button"))
    return order_id(number), seen or None


def _is_seen_digest(value: object) -> bool:
    """Whether ``value`` is the prefix of an application digest that a button or modal shows."""
    return (
        isinstance(value, str)
        and len(value) == SEEN_DIGEST
        and all(c in "0123456789abcdef" for c in value)
    )


def _metadata(view: object) -> dict[str, Any]:
    """A submitted modal's private_metadata as certdesk wrote it (a JSON object), else {}."""
    metadata = view.get("private_metadata") if isinstance(view, dict) else None
    try:
        found = json.loads(metadata) if isinstance(metadata, str) else None
    except ValueError:
        found = None
    return found if isinstance(found, dict) else {}


def view_seen(view: object) -> str | None:
    """The application digest a reason modal was opened for (its private_metadata's
    ``seen``), or None when it was opened from a button that showed none."""
    seen = _metadata(view).get("seen")
    return seen if _is_seen_digest(seen) else None


def view_kept(view: object) -> str | None:
    """The digest of the kept names a submitted Complete modal showed (its private_metadata's
    ``kept``), or None when it showed none."""
    kept = _metadata(view).get("kept")
    return kept if isinstance(kept, str) and 0 < len(kept) <= 64 else None


def view_order_id(view: object) -> int:
    """The order a submitted modal belongs to, from the ``order_id`` in its private_metadata."""
    number = _metadata(view).get("order_id")
    # bool is an int too; certdesk writes a positive int, nothing else.
    if type(number) is not int or not 0 < number < 2**63:
        raise NotFound(NO_ORDER.format(what="form"))
    return number


def user_id(body: object) -> str:
    """The acting user's id from an interaction payload; NotFound when it has none."""
    user = body.get("user") if isinstance(body, dict) else None
    found = user.get("id") if isinstance(user, dict) else None
    if not isinstance(found, str) or not found:
        raise NotFound("That request does not say who sent it.")
    return found


def text(value: object) -> str | None:
    """``value`` when it is text (what a select or text input carries), else None."""
    return value if isinstance(value, str) else None


def team_id(body: object) -> str:
    """The workspace an interaction comes from; NotFound when the payload names none."""
    team = body.get("team") if isinstance(body, dict) else None
    found = team.get("id") if isinstance(team, dict) else None
    if not isinstance(found, str) or not found:
        raise NotFound("That request does not say which workspace it comes from.")
    return found
