"""What the Slack client does to a person's modal stack after a view_submission ack or a close."""

from __future__ import annotations

from typing import Any

from bot.emulator import limits
from bot.emulator.model import ApiError, Call
from bot.emulator.state import MAX_VIEW_STACK, State
from bot.emulator.viewapi import stored_view


def replace_open_view(state: State, user_id: str, view: dict[str, Any]) -> None:
    """Put ``view`` (same id, e.g. with typed-in state) in place of the open one."""
    with state.lock:
        stack = state.stack(user_id)
        for index, open_view in enumerate(stack):
            if open_view["id"] == view.get("id"):
                stack[index] = view


def apply_ack(state: State, user_id: str, view: dict[str, Any], ack: dict[str, Any]) -> None:
    """Apply a view_submission ack; recorded as a ``response_action`` call (failed if invalid)."""
    action = ack.get("response_action")
    with state.lock:
        stack = state.stack(user_id)
        try:
            if action == "errors":
                state.set_view_errors(user_id, dict(ack.get("errors") or {}))
            elif action in ("update", "push"):
                new = limits.check_view(ack.get("view"), kind="modal")
                _put(state, stack, new, push=action == "push", user_id=user_id)
            elif action == "clear":
                stack.clear()
            elif stack and stack[-1]["id"] == view.get("id"):
                stack.pop()  # a plain ack closes the submitted view
            if action != "errors":
                state.set_view_errors(user_id, {})
        except ApiError as exc:
            state.record(Call("response_action", ack, False, exc.code, state.clock()))
            return
        state.record(Call("response_action", ack, True, None, state.clock()))


def _put(
    state: State, stack: list[dict[str, Any]], new: dict[str, Any], *, push: bool, user_id: str
) -> None:
    top = stack[-1] if stack else None
    if push and len(stack) >= MAX_VIEW_STACK:
        raise ApiError("push_limit_reached")
    view_id = state.new_id("V") if push or top is None else top["id"]
    root = stack[0]["id"] if stack else None
    previous = top["id"] if push and top else None
    stored = stored_view(state, new, user_id, view_id=view_id, root=root, previous=previous)
    if push or not stack:
        stack.append(stored)
    else:
        stack[-1] = stored


def close_top(state: State, user_id: str) -> bool:
    """Close the top modal (all of them when it has clear_on_close); True if all were cleared."""
    with state.lock:
        stack = state.stack(user_id)
        cleared = bool(stack and stack[-1].get("clear_on_close"))
        if cleared:
            stack.clear()
        elif stack:
            stack.pop()
        return cleared
