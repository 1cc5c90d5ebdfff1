"""The views.* Web API methods: modals on a per-user stack, and the App Home tab."""

from __future__ import annotations

from typing import Any

from bot.emulator import limits
from bot.emulator.model import ApiError
from bot.emulator.state import MAX_VIEW_STACK, State


def stored_view(
    state: State,
    view: dict[str, Any],
    user_id: str | None = None,
    *,
    view_id: str,
    root: str | None,
    previous: str | None,
) -> dict[str, Any]:
    """The view as Slack stores and returns it: ids, hash, empty state added."""
    team = state.team_of(user_id) if user_id else state.team_id
    stored = {
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "clear_on_close": False,
        "notify_on_close": False,
        **view,
        "id": view_id,
        "team_id": team,
        "state": {"values": {}},
        "hash": state.new_ts(),
        "root_view_id": root or view_id,
        "previous_view_id": previous,
        "app_id": state.app_id,
        "bot_id": state.bot_id,
        "app_installed_team_id": team,
    }
    stored.setdefault("blocks", [])
    return stored


def views_open(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Open a modal for the user a fresh trigger_id belongs to."""
    view = limits.check_view(args.get("view"), kind="modal")
    user_id = state.consume_trigger(args.get("trigger_id"))
    stored = stored_view(state, view, user_id, view_id=state.new_id("V"), root=None, previous=None)
    state.stack(user_id)[:] = [stored]
    state.set_view_errors(user_id, {})
    return {"view": stored}


def views_push(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Push a modal onto the user's stack (at most three deep)."""
    view = limits.check_view(args.get("view"), kind="modal")
    user_id = state.consume_trigger(args.get("trigger_id"))
    stack = state.stack(user_id)
    if not stack:
        raise ApiError("invalid_arguments", "no modal is open to push onto; use views.open")
    if len(stack) >= MAX_VIEW_STACK:
        raise ApiError("push_limit_reached")
    stored = stored_view(
        state,
        view,
        user_id,
        view_id=state.new_id("V"),
        root=stack[0]["id"],
        previous=stack[-1]["id"],
    )
    stack.append(stored)
    return {"view": stored}


def views_update(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Replace an open modal (or home tab) identified by view_id or external_id."""
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not view_id and not external_id:
        raise ApiError("invalid_arguments", "[ERROR] view_id or external_id is required")
    user_id, index = state.find_view(view_id=view_id, external_id=external_id)
    old = state.homes()[user_id] if index < 0 else state.stack(user_id)[index]
    view = args.get("view")
    kind = view.get("type", "modal") if isinstance(view, dict) else "modal"
    limits.check_view(view, kind=kind)
    if args.get("hash") and args["hash"] != old["hash"]:
        raise ApiError("hash_conflict")
    assert isinstance(view, dict)
    stored = stored_view(
        state,
        view,
        user_id,
        view_id=old["id"],
        root=old["root_view_id"],
        previous=old["previous_view_id"],
    )
    # Slack keeps what the person typed in inputs whose block_id survives the update.
    kept = {b.get("block_id") for b in stored["blocks"] if isinstance(b, dict)}
    old_values = old.get("state", {}).get("values", {})
    stored["state"]["values"] = {k: v for k, v in old_values.items() if k in kept}
    if index < 0:
        state.homes()[user_id] = stored
    else:
        state.stack(user_id)[index] = stored
    return {"view": stored}


def views_publish(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Publish a user's App Home tab."""
    user_id = str(args.get("user_id") or "")
    state.user(user_id)
    view = limits.check_view(args.get("view"), kind="home")
    old = state.homes().get(user_id)
    if old and args.get("hash") and args["hash"] != old["hash"]:
        raise ApiError("hash_conflict")
    view_id = old["id"] if old else state.new_id("V")
    state.homes()[user_id] = stored_view(
        state, view, user_id, view_id=view_id, root=None, previous=None
    )
    return {"view": state.homes()[user_id]}
