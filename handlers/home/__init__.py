"""The App Home tab: published when opened (once per event, despite Slack's retries)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import SlackError
from bot.orders.home import first_delivery, refresh_home
from bot.services import Services
from bot.views import ids
from bot.views.home import unavailable_home
from handlers.new_order import open_new_order
from handlers.replies import DATABASE_AWAY, later

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    """Listen for the Home tab being opened and its New order button."""

    @app.event("app_home_opened")
    def opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        # Acked by Bolt; nothing here touches the database: the answer never waits on it.
        user_id = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user_id, str) or not user_id:
            return
        event_id, team_id = str(body.get("event_id") or ""), body.get("team_id")
        team_id = team_id if isinstance(team_id, str) else None
        services.background.submit(publish, user_id, event_id, team_id)

    def publish(user_id: str, event_id: str, team_id: str | None) -> None:
        # Slack retries a delivery it thinks was lost (X-Slack-Retry-Num); publish once.
        try:
            if first_delivery(services, event_id):
                refresh_home(services, user_id, team_id=team_id)
        except DATABASE_AWAY as exc:
            # The tab says so in words; the next opening publishes it in full again.
            logger.warning("home tab not refreshed, database unavailable: %s", type(exc).__name__)
            try:
                services.notifier.publish_home(user_id, unavailable_home().to_dict())
            except SlackError as failed:
                logger.warning("could not publish Home for %s: %s", user_id, failed.code or failed)

    @app.action(ids.OPEN_NEW_ORDER)
    def new_order(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        later(
            services,
            body,
            lambda _user: open_new_order(services, client, trigger_id=body.get("trigger_id")),
        )
