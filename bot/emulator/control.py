"""Act as a person over HTTP (``POST /_emulator/<action>``) when the emulator runs standalone."""

from __future__ import annotations

import json
from typing import Any

from bot.emulator.render import render_state
from bot.emulator.slack_side import SlackSide
from bot.errors import Error

ACTIONS = ("command", "submit", "close", "click", "home")


def handle(side: SlackSide, action: str, form: dict[str, Any]) -> tuple[int, str]:
    """Run one person's action against the app; answer with what the workspace shows after it."""
    user_id = str(form.get("user_id") or "")
    if action not in ACTIONS or not user_id:
        return 400, f"POST /_emulator/{{{'|'.join(ACTIONS)}}} with user_id=U... (and text, ...)\n"
    try:
        if action == "command":
            response = side.slash_command(
                user_id, str(form.get("text") or ""), command=str(form.get("command") or "/cert")
            )
        elif action == "submit":
            response = side.submit_view(user_id, json.loads(form.get("values") or "{}"))
        elif action == "close":
            response = side.close_view(user_id)
        elif action == "click":
            source = str(form.get("source") or "message")
            response = side.click(
                user_id,
                str(form.get("action_id") or ""),
                value=form.get("value"),
                source=source,  # type: ignore[arg-type]
            )
        else:
            response = side.app_home_opened(user_id)
    except (Error, ValueError) as exc:
        return 400, f"{exc}\n"
    except OSError as exc:
        return 502, f"The app ({side.request_url}) did not answer: {exc}\n"
    return 200, f"app answered {response.status} {response.body}\n\n{render_state(side.emulator)}"
