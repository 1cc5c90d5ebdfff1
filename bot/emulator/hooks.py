"""The non-API URLs Slack hands out: file upload URLs, private file downloads, response_urls."""

from __future__ import annotations

from typing import Any

from bot.emulator import limits
from bot.emulator.model import ApiError, Call, Message
from bot.emulator.state import State

RESPONSE_URL_USES = 5  # Slack accepts five posts to one response_url

Reply = tuple[int, dict[str, str], dict[str, Any] | bytes]


def upload(state: State, file_id: str, content: bytes) -> Reply:
    """Store the bytes POSTed to an upload URL handed out by files.getUploadURLExternal."""
    with state.lock:
        try:
            file = state.file(file_id)
        except ApiError:
            return 404, {}, {"ok": False, "error": "file_not_found"}
        file.content = content
        file.uploaded = True
    return 200, {"Content-Type": "text/plain"}, f"OK - {len(content)}".encode()


def download(state: State, file_id: str, *, token: str | None) -> Reply:
    """Serve a file's bytes to the bot token, as url_private_download does."""
    if state.team_for_token(token) is None:
        return 401, {}, {"ok": False, "error": "invalid_auth"}
    with state.lock:
        try:
            file = state.file(file_id)
        except ApiError:
            return 404, {}, {"ok": False, "error": "file_not_found"}
        if file.deleted:
            return 404, {}, {"ok": False, "error": "file_deleted"}
        return 200, {}, file.content


def new_response_url(state: State, *, user_id: str, channel: str, message_ts: str | None) -> str:
    """A response_url for one interaction; posting to it reaches the user or the message."""
    with state.lock:
        key = state.new_id("R")
        state.response_urls[key] = {
            "user_id": user_id,
            "channel": channel,
            "message_ts": message_ts,
            "uses": 0,
        }
        return f"{state.base_url}/respond/{key}"


def respond(state: State, key: str, body: dict[str, Any]) -> Reply:
    """Apply a post to a response_url: reply (ephemeral or in channel), replace or delete."""
    with state.lock:
        context = state.response_urls.get(key)
        if context is None:
            return 404, {}, {"ok": False, "error": "invalid_url"}
        if context["uses"] >= RESPONSE_URL_USES:
            return 404, {}, {"ok": False, "error": "used_url"}
        context["uses"] += 1
        try:
            apply_reply(state, context, body)
        except ApiError as exc:
            state.record(Call("response_url", body, False, exc.code, state.clock()))
            return 400, {}, {"ok": False, "error": exc.code}
        state.record(Call("response_url", body, True, None, state.clock()))
        return 200, {}, {"ok": True}


def apply_reply(state: State, context: dict[str, Any], body: dict[str, Any]) -> None:
    """Show a reply (ack body or response_url post) where Slack would: context names the source."""
    channel, ts, user_id = context["channel"], context["message_ts"], context["user_id"]
    if body.get("delete_original") and ts:
        state.find_message(channel, ts).deleted = True
        return
    text, blocks = body.get("text") or "", body.get("blocks") or []
    limits.check_message(text=text, blocks=blocks)
    if body.get("replace_original") and ts:
        message = state.find_message(channel, ts)
        message.text, message.blocks = text, blocks
        message.edits += 1
        return
    in_channel = body.get("response_type") == "in_channel"
    state.add_message(
        Message(
            state.new_ts(),
            channel,
            text,
            blocks,
            user=None if in_channel else user_id,
            thread_ts=body.get("thread_ts"),
        )
    )
