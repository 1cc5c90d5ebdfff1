"""Block Kit's documented limits, checked on a rendered message, modal or Home tab.

slack_sdk checks some limits in ``to_dict()`` (and raises), none of the per-surface ones
(50 blocks in a message, 250 kB a view) and not prefilled values against ``max_length``.
Slack refuses a payload that breaks any of them, so a view must be checked as Slack would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
#: Characters, per field (Slack's Block Kit reference).
SECTION_TEXT, SECTION_FIELD, SECTION_FIELDS = 3000, 2000, 10
HEADER_TEXT = 150
BUTTON_TEXT, BUTTON_VALUE, URL = 75, 2000, 3000
OPTION_TEXT, OPTION_VALUE = 75, 150
MAX_OPTIONS = {"static_select": 100, "multi_static_select": 100, "radio_buttons": 10}
MAX_OPTIONS |= {"checkboxes": 10, "overflow": 5}
ACTIONS_ELEMENTS, CONTEXT_ELEMENTS = 25, 10
ID = 255  # block_id, action_id, callback_id
INPUT_LABEL, INPUT_HINT, PLACEHOLDER = 2000, 2000, 150
TEXT_INPUT = 3000  # plain_text_input max_length, and so any prefilled value
MODAL_TITLE = 24  # title, submit and close
PRIVATE_METADATA = 3000
VIEW_BYTES = 250_000
MESSAGE_TEXT = 40_000  # chat.postMessage truncates the top-level text beyond this


def problems(
    payload: View | dict[str, Any] | Sequence[Block | dict[str, Any]],
    *,
    surface: Surface,
    text: str | None = None,
) -> list[str]:
    """Every limit ``payload`` breaks, worded as "where: what (limit)"; empty if none."""
    try:
        rendered = _render(payload)
    except SlackObjectFormationError as exc:  # slack_sdk's own checks fired: unsendable
        return [f"slack_sdk refuses to build it: {exc}"]
    found: list[str] = []
    blocks = rendered.get("blocks", [])
    if len(blocks) > MAX_BLOCKS[surface]:
        found.append(f"{surface}: {len(blocks)} blocks (max {MAX_BLOCKS[surface]})")
    if surface == "message":
        if not text:
            found.append("message: no top-level text (notifications and screen readers use it)")
        elif len(text) > MESSAGE_TEXT:
            found.append(f"message text: {len(text)} characters (max {MESSAGE_TEXT})")
    else:
        found += _view_problems(rendered, surface)
    for where, node in _walk(blocks, "blocks"):
        found += _node_problems(where, node)
    return found


def _render(payload: View | dict[str, Any] | Sequence[Block | dict[str, Any]]) -> dict[str, Any]:
    if isinstance(payload, View):
        return payload.to_dict()
    if isinstance(payload, dict):  # a view as JSON
        return payload
    return {"blocks": [b.to_dict() if isinstance(b, Block) else b for b in payload]}


def _view_problems(view: dict[str, Any], surface: Surface) -> list[str]:
    found = []
    size = len(json.dumps(view, ensure_ascii=False).encode())
    if size > VIEW_BYTES:
        found.append(f"{surface}: {size} bytes of JSON (max {VIEW_BYTES})")
    if surface == "modal":
        for key in ("title", "submit", "close"):
            value = (view.get(key) or {}).get("text", "")
            if len(value) > MODAL_TITLE:
                found.append(f"modal {key}: {len(value)} characters (max {MODAL_TITLE})")
    metadata = view.get("private_metadata") or ""
    if len(metadata) > PRIVATE_METADATA:
        found.append(f"private_metadata: {len(metadata)} characters (max {PRIVATE_METADATA})")
    if len(view.get("callback_id") or "") > ID:
        found.append(f"callback_id: longer than {ID}")
    return found


def _walk(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{where}[{i}]")


def _text(node: dict[str, Any], key: str = "text") -> str:
    value = node.get(key)
    if isinstance(value, dict):
        return str(value.get("text", ""))
    return str(value or "")


def _over(where: str, what: str, length: int, limit: int) -> list[str]:
    return [f"{where}: {what} {length} characters (max {limit})"] if length > limit else []


def _node_problems(where: str, node: dict[str, Any]) -> list[str]:
    kind = node.get("type")
    found: list[str] = []
    for key in ("block_id", "action_id"):
        found += _over(where, key, len(str(node.get(key) or "")), ID)
    if kind == "section":
        found += _over(where, "section text", len(_text(node)), SECTION_TEXT)
        fields = node.get("fields") or []
        if len(fields) > SECTION_FIELDS:
            found.append(f"{where}: {len(fields)} fields (max {SECTION_FIELDS})")
        for field in fields:
            found += _over(where, "section field", len(_text({"text": field})), SECTION_FIELD)
    elif kind == "header":
        found += _over(where, "header text", len(_text(node)), HEADER_TEXT)
    elif kind == "actions" and len(node.get("elements", [])) > ACTIONS_ELEMENTS:
        found.append(f"{where}: {len(node['elements'])} elements (max {ACTIONS_ELEMENTS})")
    elif kind == "context" and len(node.get("elements", [])) > CONTEXT_ELEMENTS:
        found.append(f"{where}: {len(node['elements'])} elements (max {CONTEXT_ELEMENTS})")
    elif kind == "button":
        found += _over(where, "button text", len(_text(node)), BUTTON_TEXT)
        found += _over(where, "button value", len(str(node.get("value") or "")), BUTTON_VALUE)
        found += _over(where, "button url", len(str(node.get("url") or "")), URL)
    elif kind == "input":
        found += _over(where, "input label", len(_text(node, "label")), INPUT_LABEL)
        found += _over(where, "input hint", len(_text(node, "hint")), INPUT_HINT)
    elif kind == "plain_text_input":
        limit = min(int(node.get("max_length") or TEXT_INPUT), TEXT_INPUT)
        if int(node.get("max_length") or 0) > TEXT_INPUT:
            found.append(f"{where}: max_length {node['max_length']} (max {TEXT_INPUT})")
        found += _over(where, "prefilled value", len(str(node.get("initial_value") or "")), limit)
    if "placeholder" in node:
        found += _over(where, "placeholder", len(_text(node, "placeholder")), PLACEHOLDER)
    found += _option_problems(where, node, kind)
    return found


def _option_problems(where: str, node: dict[str, Any], kind: Any) -> list[str]:
    found: list[str] = []
    opts: list[dict[str, Any]] = list(node.get("options") or [])
    for group in node.get("option_groups") or []:
        opts += group.get("options", [])
    if kind in MAX_OPTIONS and len(opts) > MAX_OPTIONS[kind]:
        found.append(f"{where}: {len(opts)} options (max {MAX_OPTIONS[kind]})")
    for option in _options(opts, node):
        found += _over(where, "option text", len(_text(option)), OPTION_TEXT)
        found += _over(where, "option value", len(str(option.get("value") or "")), OPTION_VALUE)
    return found


def _options(opts: Iterable[dict[str, Any]], node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from opts
    if isinstance(node.get("initial_option"), dict):
        yield node["initial_option"]
    yield from node.get("initial_options") or []
