"""Reading a submitted view's state.values into {block_id: value}."""

from __future__ import annotations

from typing import Any


def element_value(element: dict[str, Any]) -> Any:
    """The value of one input element, whatever its type."""
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons", "external_select"):
        option = element.get("selected_option")
        return option["value"] if option else None
    if kind in ("checkboxes", "multi_static_select"):
        return [o["value"] for o in element.get("selected_options") or []]
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "file_input":
        return list(element.get("files") or [])
    return element.get("value")


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """Every input's value keyed by block id (each input block holds one element)."""
    values: dict[str, Any] = {}
    for block_id, elements in (view.get("state") or {}).get("values", {}).items():
        for element in elements.values():
            values[block_id] = element_value(element)
    return values
