"""Slack listeners: thin — parse, call one service function, render."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services


def register_all(app: App, services: Services) -> None:
    """Register every surface's listeners."""
    from handlers import commands, complete, errors, new_order, order_actions

    errors.register(app, services)
    commands.register(app, services)
    new_order.register(app, services)
    complete.register(app, services)
    order_actions.register(app, services)
