"""Signed payloads a test builds by hand (a button press carrying any value)."""

from __future__ import annotations

from support.app_fixtures import Running


def press(certdesk: Running, user: str, action_id: str, value: object) -> int:
    """A signed button press carrying ``value``, from a real user; the answer's status."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": user},
        "api_app_id": "A1",
        "trigger_id": certdesk.emulator.new_trigger_id(user),
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "D1"},
        "actions": [{"action_id": action_id, "block_id": "b", "type": "button", "value": value}],
    }
    status = certdesk.slack.deliver("interactive", payload).status
    certdesk.settle()
    return status
