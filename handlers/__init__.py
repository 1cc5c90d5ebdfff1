"""Slack listeners: thin — parse, call one service function, render."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers import (
    approval,
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
from handlers.commands import Commands
from handlers.opening import OrderCommands


def register_all(app: App, services: Services) -> Commands:
    """Register every surface's listeners; `/cert <word> ID` routes to the surface that
    returned the word (each app gets its own routing, so two apps in a process stay apart).
    Returns `/cert`'s answers (the HTTP edge gives some of them without Bolt)."""
    for surface in (errors, new_order, order_actions, home, verification, approval):
        surface.register(app, services)
    order_commands: OrderCommands = {}
    for modal_surface in (complete, watchers, cancel, keys, revoke):
        order_commands |= modal_surface.register(app, services)
    return commands.register(app, services, order_commands=order_commands)
