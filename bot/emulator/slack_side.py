"""Slack's side of the conversation: signed slash commands, interactions and events to the app."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.emulator import hooks, modals
from bot.emulator.model import ApiError, Call, Message
from bot.emulator.socket_mode import Kind
from bot.emulator.state import State
from bot.emulator.views import (
    action_payload,
    build_state_values,
    find_element,
    missing_required,
)
from bot.errors import ValidationError

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Response:
    """What the app answered; ``sent`` is false when the Slack client kept the request to itself."""

    status: int
    body: str
    sent: bool = True

    def json(self) -> dict[str, Any] | None:
        """The body parsed as a JSON object, or None when it is empty or not JSON."""
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


class SlackSide:
    """Sends what Slack would send to the app's request URL, signed, over real HTTP."""

    def __init__(
        self, emulator: State, *, request_url: str, signing_secret: str | None = None
    ) -> None:
        self.emulator = emulator
        self.request_url = request_url
        self.verifier = SignatureVerifier(signing_secret or emulator.signing_secret)
        #: Seconds to wait for the app's answer (Slack itself gives up after 3).
        self.timeout = 10.0

    # ----- transport -----

    def send(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> Response:
        """POST ``body`` signed as Slack signs it (or with the forged timestamp/signature given)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        if signature is None:
            signature = self.verifier.generate_signature(timestamp=ts, body=body.decode("utf-8"))
        request = urllib.request.Request(
            self.request_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature or "",
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return Response(answer.status, answer.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode("utf-8", "replace"))

    def deliver(self, kind: Kind, payload: dict[str, Any]) -> Response:
        """Carry one request to the app: here signed HTTP, encoded as Slack encodes each kind."""
        if kind == "slash_commands":
            return self.send(urlencode(payload).encode(), content_type=FORM)
        if kind == "interactive":
            return self.send(
                urlencode({"payload": json.dumps(payload)}).encode(), content_type=FORM
            )
        return self.send(json.dumps(payload).encode(), content_type="application/json")

    def _send_payload(self, payload: dict[str, Any]) -> Response:
        return self.deliver("interactive", payload)

    # ----- helpers -----

    def _user(self, user_id: str) -> dict[str, Any]:
        # Anyone who can type a command exists in the workspace.
        if not self.emulator.has_user(user_id):
            self.emulator.add_user(user_id, name=user_id.lower())
        with self.emulator.lock:
            name = self.emulator.user(user_id).name
        team = self.emulator.team_of(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": team}

    def _common(self, user_id: str) -> dict[str, Any]:
        return {
            "user": self._user(user_id),
            "api_app_id": self.emulator.app_id,
            "token": "emulated-verification-token",
            "team": {"id": self.emulator.team_of(user_id), "domain": "emulated"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # ----- what people do -----

    def slash_command(
        self, user_id: str, text: str, *, command: str = "/cert", channel_id: str | None = None
    ) -> Response:
        """Type ``command text`` in a channel (the user's DM with the app by default)."""
        self._user(user_id)
        channel = channel_id or self.emulator.dm_channel(user_id)
        response_url = hooks.new_response_url(
            self.emulator, user_id=user_id, channel=channel, message_ts=None
        )
        form = {
            "token": "emulated-verification-token",
            "team_id": self.emulator.team_of(user_id),
            "team_domain": "emulated",
            "channel_id": channel,
            "channel_name": "directmessage" if channel.startswith("D") else channel,
            "user_id": user_id,
            "user_name": self.emulator.user(user_id).name,
            "command": command,
            "text": text,
            "api_app_id": self.emulator.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.emulator.new_trigger_id(user_id),
        }
        response = self.deliver("slash_commands", form)
        self._show_ack_message(response, user_id=user_id, channel=channel)
        return response

    def _show_ack_message(self, response: Response, *, user_id: str, channel: str) -> None:
        """A slash command's ack may carry a message: Slack shows it (ephemeral by default)."""
        if response.status != 200 or not response.body.strip():
            return
        body = response.json() or {"text": response.body}
        if not (body.get("text") or body.get("blocks")):
            return
        context = {"user_id": user_id, "channel": channel, "message_ts": None}
        with self.emulator.lock:
            try:
                hooks.apply_reply(self.emulator, context, body)
                self.emulator.record(Call("command_ack", body, True, None, time.time()))
            except ApiError as exc:
                self.emulator.record(Call("command_ack", body, False, exc.code, time.time()))

    def submit_view(
        self, user_id: str, values: dict[str, object], *, view: dict[str, Any] | None = None
    ) -> Response:
        """Fill the inputs given (by block_id) in the user's open modal and press Submit."""
        view = view or self.emulator.current_view(user_id)
        if view is None:
            raise ValidationError(f"{user_id} has no modal open to submit")
        user = self._user(user_id)

        def make_file(filename: str, content: bytes) -> dict[str, Any]:
            return self.emulator.add_user_file(user_id, filename=filename, content=content)

        view = {**view, "state": {"values": build_state_values(view, values, make_file=make_file)}}
        modals.replace_open_view(self.emulator, user_id, view)
        # Like the Slack client: empty required inputs never reach the app.
        local_errors = missing_required(view, view["state"]["values"])
        if local_errors:
            self.emulator.set_view_errors(user_id, local_errors)
            return Response(0, json.dumps({"errors": local_errors}), sent=False)
        payload = {
            "type": "view_submission",
            **self._common(user_id),
            "user": user,
            "trigger_id": self.emulator.new_trigger_id(user_id),
            "view": view,
            "response_urls": [],
        }
        response = self._send_payload(payload)
        if response.status == 200:
            modals.apply_ack(self.emulator, user_id, view, response.json() or {})
        return response

    def close_view(self, user_id: str) -> Response:
        """Press Cancel/close; the app hears ``view_closed`` only if the view asked for it."""
        view = self.emulator.current_view(user_id)
        if view is None:
            raise ValidationError(f"{user_id} has no modal open to close")
        cleared = modals.close_top(self.emulator, user_id)
        if not view.get("notify_on_close"):
            return Response(0, "", sent=False)
        payload = {
            "type": "view_closed",
            **self._common(user_id),
            "view": view,
            "is_cleared": cleared,
        }
        return self._send_payload(payload)

    def click(
        self,
        user_id: str,
        action_id: str,
        *,
        value: str | None = None,
        source: Literal["message", "view", "home"] = "message",
        message: Message | None = None,
        block_id: str | None = None,
    ) -> Response:
        """Press a button (or pick an option) in a message, the open modal, or the home tab."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            **self._common(user_id),
            "trigger_id": self.emulator.new_trigger_id(user_id),
        }
        if source == "message":
            message = message or self._message_with(user_id, action_id)
            blocks = message.blocks
            payload["container"] = {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": message.is_ephemeral,
            }
            payload["channel"] = {"id": message.channel, "name": "directmessage"}
            payload["message"] = {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "user": self.emulator.bot_user_id,
            }
            payload["response_url"] = hooks.new_response_url(
                self.emulator, user_id=user_id, channel=message.channel, message_ts=message.ts
            )
        else:
            shown = (
                self.emulator.current_view(user_id)
                if source == "view"
                else self.emulator.home_view(user_id)
            )
            if shown is None:
                raise ValidationError(f"{user_id} has no {source} view open to click in")
            blocks = shown.get("blocks") or []
            payload["container"] = {"type": "view", "view_id": shown["id"]}
            payload["view"] = shown
            payload["state"] = shown.get("state", {"values": {}})
        found = find_element(blocks, action_id, block_id=block_id)
        block, element = found if found else (None, None)
        payload["actions"] = [
            action_payload(
                block,
                element,
                action_id=action_id,
                block_id=block_id,
                value=value,
                action_ts=self.emulator.new_ts(),
            )
        ]
        return self._send_payload(payload)

    def _message_with(self, user_id: str, action_id: str) -> Message:
        """The newest message this user can see that has an element with ``action_id``."""
        for message in reversed(self.emulator.messages()):
            visible = message.user == user_id or (
                message.user is None and user_id in self.emulator.members(message.channel)
            )
            if visible and find_element(message.blocks, action_id) is not None:
                return message
        raise ValidationError(f"no message visible to {user_id} has an action {action_id!r}")

    def app_home_opened(self, user_id: str) -> Response:
        """Open the app's Home tab: an ``app_home_opened`` event with a fresh event_id."""
        self._user(user_id)
        now = int(time.time())
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.emulator.dm_channel(user_id),
            "tab": "home",
            "event_ts": f"{now}.000100",
        }
        home = self.emulator.home_view(user_id)
        if home is not None:
            event["view"] = home
        return self.event(self.emulator.team_of(user_id), event)

    def app_uninstalled(self, team_id: str) -> Response:
        """The workspace removes the app: its tokens stop working, then the event arrives."""
        self.emulator.installs.revoke(team_id)
        return self.event(team_id, {"type": "app_uninstalled", "event_ts": f"{time.time():.6f}"})

    def tokens_revoked(self, team_id: str) -> Response:
        """The workspace revokes the bot's token."""
        self.emulator.installs.revoke(team_id)
        event = {
            "type": "tokens_revoked",
            "tokens": {"oauth": [], "bot": [self.emulator.bot_user_id]},
            "event_ts": f"{time.time():.6f}",
        }
        return self.event(team_id, event)

    def event(self, team_id: str, event: dict[str, Any]) -> Response:
        """Deliver an Events API callback for ``team_id`` with a fresh event_id."""
        now = int(time.time())
        body = {
            "token": "emulated-verification-token",
            "team_id": team_id,
            "api_app_id": self.emulator.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + self.emulator.new_id(""),
            "event_time": now,
            "authorizations": [
                {
                    "team_id": team_id,
                    "user_id": self.emulator.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                    "enterprise_id": None,
                }
            ],
            "is_ext_shared_channel": False,
        }
        return self.deliver("events_api", body)
