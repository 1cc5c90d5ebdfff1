"""The Block Kit limits Slack enforces on messages and views, raised as Slack's errors."""

from __future__ import annotations

import json
from typing import Any

from bot.emulator.model import ApiError

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
TITLE_MAX = 24
PRIVATE_METADATA_MAX = 3000
SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
MESSAGE_TEXT_MAX = 40000
VIEW_MAX_BYTES = 250_000
INPUT_MAX_LENGTH = 3000


def _text_of(obj: object) -> str | None:
    return obj.get("text") if isinstance(obj, dict) else None


def _block_problems(blocks: object, *, pointer: str) -> list[str]:
    """Structural problems in a block list, as Slack words them (json-pointer suffix)."""
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{pointer}]"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"[ERROR] missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                problems.append(f"[ERROR] duplicate block_id {block_id!r} [json-pointer:{where}]")
            seen.add(block_id)
        kind = block["type"]
        text = _text_of(block.get("text"))
        if kind == "section":
            if text is not None and len(text) > SECTION_TEXT_MAX:
                problems.append(
                    f"[ERROR] must be less than {SECTION_TEXT_MAX + 1} characters "
                    f"[json-pointer:{where}/text/text]"
                )
            if text is None and not block.get("fields"):
                problems.append(f"[ERROR] missing required field: text [json-pointer:{where}]")
            if len(block.get("fields") or []) > 10:
                problems.append(f"[ERROR] no more than 10 items allowed [json-pointer:{where}]")
        elif kind == "header" and (text is None or len(text) > HEADER_TEXT_MAX):
            problems.append(f"[ERROR] header text missing or too long [json-pointer:{where}/text]")
        elif kind == "input":
            problems.extend(_input_problems(block, where))
        elif kind == "actions" and not (0 < len(block.get("elements") or []) <= 25):
            problems.append(f"[ERROR] actions need 1 to 25 elements [json-pointer:{where}]")
    return problems


def _input_problems(block: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if not _text_of(block.get("label")):
        problems.append(f"[ERROR] missing required field: label [json-pointer:{where}]")
    element = block.get("element")
    if not isinstance(element, dict) or "type" not in element:
        problems.append(f"[ERROR] missing required field: element [json-pointer:{where}]")
    elif int(element.get("max_length") or 0) > INPUT_MAX_LENGTH:
        problems.append(
            f"[ERROR] max_length must be at most {INPUT_MAX_LENGTH} "
            f"[json-pointer:{where}/element/max_length]"
        )
    return problems


def check_message(*, text: object, blocks: object) -> None:
    """Raise Slack's error for a message it would refuse (no_text, invalid_blocks, ...)."""
    if isinstance(text, str) and len(text) > MESSAGE_TEXT_MAX:
        raise ApiError("msg_too_long")
    if blocks in (None, "", []):
        if not text:
            raise ApiError("no_text")
        return
    if isinstance(blocks, list) and len(blocks) > MESSAGE_MAX_BLOCKS:
        raise ApiError("invalid_blocks", f"[ERROR] no more than {MESSAGE_MAX_BLOCKS} items allowed")
    problems = _block_problems(blocks, pointer="/blocks")
    if problems:
        raise ApiError("invalid_blocks", *problems)


def check_view(view: object, *, kind: str) -> dict[str, Any]:
    """Raise ``invalid_arguments`` (or ``view_too_large``) for a view Slack would refuse."""
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", "[ERROR] missing required field: view")
    if len(json.dumps(view)) > VIEW_MAX_BYTES:
        raise ApiError("view_too_large")
    problems: list[str] = []
    if view.get("type") != kind:
        problems.append(f"[ERROR] type must be {kind!r} [json-pointer:/view/type]")
    blocks = view.get("blocks")
    if isinstance(blocks, list) and len(blocks) > VIEW_MAX_BLOCKS:
        problems.append(
            f"[ERROR] no more than {VIEW_MAX_BLOCKS} items allowed [json-pointer:/view/blocks]"
        )
    problems.extend(_block_problems(blocks, pointer="/view/blocks"))
    metadata = view.get("private_metadata")
    if isinstance(metadata, str) and len(metadata) > PRIVATE_METADATA_MAX:
        problems.append(
            f"[ERROR] must be less than {PRIVATE_METADATA_MAX + 1} characters "
            "[json-pointer:/view/private_metadata]"
        )
    if kind == "modal":
        problems.extend(_modal_problems(view))
    if problems:
        raise ApiError("invalid_arguments", *problems)
    return view


def _modal_problems(view: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if not _text_of(view.get("title")):
        problems.append("[ERROR] missing required field: title [json-pointer:/view/title]")
    for key in ("title", "submit", "close"):
        text = _text_of(view.get(key))
        if text is not None and len(text) > TITLE_MAX:
            problems.append(
                f"[ERROR] must be less than {TITLE_MAX + 1} characters "
                f"[json-pointer:/view/{key}/text]"
            )
    has_input = any(
        isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
    )
    if has_input and not _text_of(view.get("submit")):
        problems.append(
            "[ERROR] a view with input blocks needs a submit button [json-pointer:/view]"
        )
    for key in ("callback_id", "external_id"):
        value = view.get(key)
        if isinstance(value, str) and len(value) > 255:
            problems.append(f"[ERROR] must be less than 256 characters [json-pointer:/view/{key}]")
    return problems
