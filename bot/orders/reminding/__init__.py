"""Reminders: verification nudges, escalation and expiry notices, each sent exactly once."""

from bot.orders.reminding.sender import send_due
from storage.reminder_slots import (
    follow_watchers,
    schedule_expiry,
    start_verification,
    stop_reminders,
)

__all__ = [
    "follow_watchers",
    "schedule_expiry",
    "send_due",
    "start_verification",
    "stop_reminders",
]
