"""Slack's side of the conversation over Socket Mode: envelopes on a WebSocket, not POSTs."""

from __future__ import annotations

import json
from typing import Any

from bot.emulator.slack_side import Response, SlackSide
from bot.emulator.socket_mode import Kind, SocketModeHub
from bot.emulator.state import State


class SocketSlackSide(SlackSide):
    """Sends what people do as envelopes on the app's WebSocket and reads the acks.

    Every action ``SlackSide`` offers works unchanged; only the transport differs. An ack
    comes back as the HTTP answer would have: status 200 and its payload as the body.
    Raises ConnectionError when no app is connected and TimeoutError when no ack comes.
    """

    def __init__(self, emulator: State, hub: SocketModeHub, *, ack_timeout: float = 10.0) -> None:
        super().__init__(emulator, request_url="Socket Mode")
        self.hub = hub
        # Slack itself waits 3 s for an ack; tests on a busy machine get more slack.
        self.ack_timeout = ack_timeout

    def deliver(self, kind: Kind, payload: dict[str, Any]) -> Response:
        """Send one envelope and wait for its ack."""
        ack = self.hub.deliver(kind, payload, timeout=self.ack_timeout)
        body = ack.get("payload")
        return Response(200, json.dumps(body) if body else "")
