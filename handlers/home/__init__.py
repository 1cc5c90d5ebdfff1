"""The App Home tab: published when opened (once per event, despite Slack's retries)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.orders.home import first_delivery, refresh_home
from bot.services import Services
from bot.views import ids
from handlers.new_order import open_new_order
from handlers.replies import dm_later, guarded


def register(app: App, services: Services) -> None:
    """Listen for the Home tab being opened and its New order button."""

    @app.event("app_home_opened")
    def opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        # Slack retries a delivery it thinks was lost (X-Slack-Retry-Num); publish once.
        if not first_delivery(services, str(body.get("event_id") or "")):
            return
        services.background.submit(
            refresh_home, services, event["user"], team_id=body.get("team_id")
        )

    @app.action(ids.OPEN_NEW_ORDER)
    def new_order(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]

        tell = dm_later(services, user_id)

        guarded(tell, lambda: open_new_order(services, client, trigger_id=body["trigger_id"]))
