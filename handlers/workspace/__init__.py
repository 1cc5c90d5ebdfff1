"""OAuth mode: a workspace uninstalling certdesk, or revoking its bot token, pauses it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.orders.workspaces import uninstalled
from bot.services import Services


def register(app: App, services: Services) -> None:
    """Listen for app_uninstalled and tokens_revoked (registered only with many workspaces).

    Unlike other listeners these touch the database before their answer: the pause is done
    first, so that when it fails Slack sees an error and sends the event again.
    """

    @app.event("app_uninstalled")
    def app_uninstalled(body: dict[str, Any]) -> None:
        team_id = str(body.get("team_id") or "")
        if team_id:
            event_id = str(body.get("event_id") or "")
            uninstalled(services, team_id, why="app_uninstalled", event_id=event_id)

    @app.event("tokens_revoked")
    def tokens_revoked(event: dict[str, Any], body: dict[str, Any]) -> None:
        team_id = str(body.get("team_id") or "")
        # Only the bot's token matters: certdesk asks for no user tokens.
        bots = (event.get("tokens") or {}).get("bot") or []
        if team_id and bots:
            event_id = str(body.get("event_id") or "")
            uninstalled(services, team_id, why="tokens_revoked", event_id=event_id)
