"""Slack listeners: thin — parse, call one service function, render."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services


def register_all(app: App, services: Services) -> None:
    """Register every surface's listeners."""
    from handlers import (
        cancel,
        commands,
        complete,
        errors,
        home,
        keys,
        new_order,
        order_actions,
        revoke,
        verification,
        watchers,
    )

    for surface in (
        errors,
        commands,
        new_order,
        complete,
        order_actions,
        home,
        watchers,
        cancel,
        keys,
        verification,
        revoke,
    ):
        surface.register(app, services)
