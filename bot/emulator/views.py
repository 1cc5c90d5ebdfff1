"""What a person's Slack client does with a view: fill its inputs and build ``state.values``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bot.errors import ValidationError

# element type -> (key in state.values, key holding the initial value, how values are given)
_STATEFUL: dict[str, tuple[str, str, str]] = {
    "plain_text_input": ("value", "initial_value", "text"),
    "email_text_input": ("value", "initial_value", "text"),
    "url_text_input": ("value", "initial_value", "text"),
    "number_input": ("value", "initial_value", "text"),
    "static_select": ("selected_option", "initial_option", "option"),
    "external_select": ("selected_option", "initial_option", "option"),
    "radio_buttons": ("selected_option", "initial_option", "option"),
    "multi_static_select": ("selected_options", "initial_options", "options"),
    "checkboxes": ("selected_options", "initial_options", "options"),
    "users_select": ("selected_user", "initial_user", "text"),
    "multi_users_select": ("selected_users", "initial_users", "list"),
    "conversations_select": ("selected_conversation", "initial_conversation", "text"),
    "channels_select": ("selected_channel", "initial_channel", "text"),
    "datepicker": ("selected_date", "initial_date", "text"),
    "timepicker": ("selected_time", "initial_time", "text"),
    "file_input": ("files", "", "files"),
}

FileMaker = Callable[[str, bytes], dict[str, Any]]
REQUIRED_MESSAGE = "Please complete this required field."


def stateful_elements(view: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every input and actions element that carries state."""
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and isinstance(block.get("element"), dict):
            yield block, block["element"]
        elif block.get("type") == "actions":
            for element in block.get("elements") or []:
                if element.get("type") in _STATEFUL:
                    yield block, element


def all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    """Options of a select/radio/checkbox element, including those inside option groups."""
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def pick_option(element: dict[str, Any], value: object, *, field: str) -> dict[str, Any]:
    """The option whose value (or visible text) is ``value``; a clear error when there is none."""
    if isinstance(value, dict):
        return value
    for option in all_options(element):
        if option.get("value") == value or option.get("text", {}).get("text") == value:
            return option
    choices = [o.get("value") for o in all_options(element)]
    raise ValidationError(f"{value!r} is not one of the options {choices}", field=field)


def _given(
    kind: str, element: dict[str, Any], value: object, field: str, make_file: FileMaker
) -> object:
    if kind == "option":
        return None if value is None else pick_option(element, value, field=field)
    if kind == "options":
        return [pick_option(element, v, field=field) for v in _as_list(value)]
    if kind == "list":
        return list(_as_list(value))
    if kind == "files":
        return [_file(item, make_file) for item in _as_list(value)]
    return None if value is None else str(value)


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _file(item: object, make_file: FileMaker) -> dict[str, Any]:
    if isinstance(item, dict) and "content" in item:
        return make_file(str(item["filename"]), bytes(item["content"]))
    if isinstance(item, dict):
        return item
    raise ValidationError("give file_input values as {'filename': ..., 'content': b'...'}")


def _initial(kind: str, element: dict[str, Any], initial_key: str) -> object:
    initial = element.get(initial_key) if initial_key else None
    if kind in ("options", "list", "files"):
        return list(initial or [])
    return initial


def build_state_values(
    view: dict[str, Any], values: dict[str, object], *, make_file: FileMaker
) -> dict[str, dict[str, dict[str, Any]]]:
    """Slack's ``view.state.values``: given values by block_id; the rest keep what is on screen."""
    unknown = set(values) - {block.get("block_id") for block, _ in stateful_elements(view)}
    if unknown:
        raise ValidationError(f"the view has no input with block_id {sorted(unknown)}")
    typed = (view.get("state") or {}).get("values") or {}
    state: dict[str, dict[str, dict[str, Any]]] = {}
    for index, (block, element) in enumerate(stateful_elements(view)):
        spec = _STATEFUL.get(element.get("type", ""))
        if spec is None:
            continue
        key, initial_key, kind = spec
        block_id = block.get("block_id") or f"block{index}"
        action_id = element.get("action_id") or f"action{index}"
        if block_id in values:
            current = _given(kind, element, values[block_id], block_id, make_file)
        elif action_id in typed.get(block_id, {}):
            # What the person typed before (an errors ack keeps it on screen) wins.
            current = typed[block_id][action_id].get(key)
        else:
            current = _initial(kind, element, initial_key)
        state.setdefault(block_id, {})[action_id] = {"type": element["type"], key: current}
    return state


def missing_required(
    view: dict[str, Any], state: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, str]:
    """Errors the Slack client shows without sending: empty required inputs, bad lengths."""
    errors: dict[str, str] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input" or not block.get("block_id"):
            continue
        entry = next(iter(state.get(block["block_id"], {}).values()), {})
        current = next((v for k, v in entry.items() if k != "type"), None)
        element = block.get("element") or {}
        if not block.get("optional") and current in (None, "", []):
            errors[block["block_id"]] = REQUIRED_MESSAGE
        elif isinstance(current, str) and len(current) > int(element.get("max_length") or 1 << 30):
            errors[block["block_id"]] = f"Must be at most {element['max_length']} characters."
        elif isinstance(current, str) and len(current) < int(element.get("min_length") or 0):
            errors[block["block_id"]] = f"Must be at least {element['min_length']} characters."
    return errors


def find_element(
    blocks: list[dict[str, Any]], action_id: str, *, block_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (block, element) with ``action_id`` among buttons, selects and accessories."""
    for block in blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        candidates = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    return None


def action_payload(
    block: dict[str, Any] | None,
    element: dict[str, Any] | None,
    *,
    action_id: str,
    block_id: str | None,
    value: str | None,
    action_ts: str,
) -> dict[str, Any]:
    """One entry of a block_actions ``actions`` list, shaped by the element's type."""
    kind = (element or {}).get("type", "button")
    action: dict[str, Any] = {
        "type": kind,
        "action_id": action_id,
        "block_id": (block or {}).get("block_id") or block_id or "",
        "action_ts": action_ts,
    }
    if element and "text" in element:
        action["text"] = element["text"]
    if kind in ("static_select", "overflow", "radio_buttons", "external_select"):
        action["selected_option"] = pick_option(element or {}, value, field=action_id)
    elif kind in ("users_select",):
        action["selected_user"] = value
    elif kind in ("datepicker",):
        action["selected_date"] = value
    else:
        action["value"] = value if value is not None else (element or {}).get("value")
        if action["value"] is None:
            del action["value"]
    return action
