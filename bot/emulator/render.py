"""Plain-text renderings of messages and views, for the demo and for reading test failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.emulator.model import Message, SharedFile
from bot.emulator.state import State
from bot.emulator.views import all_options

WIDTH = 72


def _text(obj: object) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return "" if obj is None else str(obj)


def _option_text(option: object) -> str:
    return _text(option.get("text")) if isinstance(option, dict) else ""


def _element(element: dict[str, Any]) -> str:
    kind = element.get("type", "")
    if kind == "button":
        return f"[{_text(element.get('text'))}]"
    if kind == "overflow":
        return "[...]"
    if kind in ("static_select", "external_select", "users_select", "conversations_select"):
        chosen = _option_text(element.get("initial_option")) or element.get("initial_user")
        return f"<{chosen or _text(element.get('placeholder')) or 'Select'} v>"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if kind in ("mrkdwn", "plain_text"):
        return _text(element)
    return f"<{kind}>"


def _current(element: dict[str, Any], entry: dict[str, Any] | None) -> str:
    """What the input shows: the typed/selected value, else its initial value."""
    source = entry or element
    for key in (
        "value",
        "initial_value",
        "selected_date",
        "initial_date",
        "selected_user",
        "initial_user",
    ):
        if source.get(key):
            return str(source[key])
    for key in ("selected_option", "initial_option"):
        if source.get(key):
            return _option_text(source[key])
    for key in ("selected_options", "initial_options"):
        if source.get(key):
            return ", ".join(_option_text(o) for o in source[key])
    for key in ("selected_users", "initial_users"):
        if source.get(key):
            return ", ".join(source[key])
    if source.get("files"):
        return ", ".join(str(f.get("name")) for f in source["files"])
    return ""


def _input(
    block: dict[str, Any], values: Mapping[str, Any], errors: Mapping[str, str]
) -> list[str]:
    element = block.get("element") or {}
    label = _text(block.get("label")) + (" (optional)" if block.get("optional") else "")
    block_values = values.get(block.get("block_id", ""), {})
    entry = next(iter(block_values.values()), None) if block_values else None
    shown = _current(element, entry)
    if not shown:
        shown = f"({_text(element.get('placeholder'))})" if element.get("placeholder") else "___"
    lines = [f"{label}:"] if "\n" in shown else [f"{label}: {shown}"]
    if "\n" in shown:
        lines.extend(f"  | {line}" for line in shown.splitlines())
    options = all_options(element)
    if options and element.get("type") in ("radio_buttons", "checkboxes"):
        lines.extend(f"  ( ) {_option_text(o)}" for o in options)
    if block.get("hint"):
        lines.append(f"  {_text(block['hint'])}")
    if block.get("block_id") in errors:
        lines.append(f"  ! {errors[block['block_id']]}")
    return lines


def render_blocks(
    blocks: list[dict[str, Any]],
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[str]:
    """Each block as the lines a person would read."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {_text(block.get('text'))} ==")
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "section":
            if block.get("text"):
                lines.append(_text(block["text"]))
            lines.extend(f"  {_text(f)}" for f in block.get("fields") or [])
            if isinstance(block.get("accessory"), dict):
                lines.append(f"  {_element(block['accessory'])}")
        elif kind == "context":
            lines.append("  " + " | ".join(_element(e) for e in block.get("elements") or []))
        elif kind == "actions":
            lines.append(" ".join(_element(e) for e in block.get("elements") or []))
        elif kind == "input":
            lines.extend(_input(block, values or {}, errors or {}))
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        else:
            lines.append(f"<{kind} block>")
    return lines


def render_message(message: Message, *, files: Mapping[str, SharedFile] | None = None) -> str:
    """A message as a terminal line or paragraph: where, for whom, text or blocks, files."""
    where = f"[{message.channel}]" + (f" (only visible to {message.user})" if message.user else "")
    lines = [where + (" (edited)" if message.edits else "")]
    body = render_blocks(message.blocks) if message.blocks else message.text.splitlines()
    lines.extend(f"  {line}" for line in body)
    for file_id in message.files:
        file = (files or {}).get(file_id)
        lines.append(f"  [file] {file.filename} ({file.title})" if file else f"  [file] {file_id}")
    return "\n".join(lines)


def render_view(view: dict[str, Any], *, errors: Mapping[str, str] | None = None) -> str:
    """A modal or home tab drawn as a box of text with its buttons at the bottom."""
    title = _text(view.get("title")) or ("Home" if view.get("type") == "home" else "")
    values = (view.get("state") or {}).get("values") or {}
    lines = ["+" + "-" * (WIDTH - 2) + "+", f"| {title}", "+" + "-" * (WIDTH - 2) + "+"]
    lines.extend(
        f"| {line}"
        for line in render_blocks(view.get("blocks") or [], values=values, errors=errors)
    )
    buttons = [f"[{_text(view[k])}]" for k in ("close", "submit") if view.get(k)]
    if buttons:
        lines.append("| " + " ".join(buttons).rjust(WIDTH - 4))
    lines.append("+" + "-" * (WIDTH - 2) + "+")
    return "\n".join(lines)


def render_state(state: State) -> str:
    """Everything the workspace shows right now: messages, open modals, home tabs."""
    files = {f.id: f for f in state.files}
    parts = [render_message(m, files=files) for m in state.messages()]
    with state.lock:
        users = sorted(set(state.homes()) | set(state.users_with_modals()))
    for user_id in users:
        view = state.current_view(user_id)
        if view is not None:
            parts.append(
                f"Modal open for {user_id}:\n"
                + render_view(view, errors=state.view_errors(user_id))
            )
        home = state.home_view(user_id)
        if home is not None:
            parts.append(f"Home tab of {user_id}:\n" + render_view(home))
    return "\n\n".join(parts) + "\n"
