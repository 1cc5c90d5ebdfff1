"""The Web API methods the app uses, answered the way Slack answers them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.emulator import limits, viewapi
from bot.emulator.model import ApiError, Call, Message, SharedFile
from bot.emulator.state import State

Method = Callable[[State, dict[str, Any]], dict[str, Any]]

# Arguments that arrive JSON-encoded in form bodies but as structures in JSON bodies.
_JSON_ARGS = ("blocks", "attachments", "view", "files", "metadata")


def _decode(args: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(args)
    for key in _JSON_ARGS:
        value = decoded.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                decoded[key] = json.loads(value)
            except ValueError as exc:
                raise ApiError("invalid_arguments", f"{key} is not valid JSON") from exc
    return decoded


def required(args: dict[str, Any], name: str) -> Any:
    value = args.get(name)
    if value in (None, ""):
        raise ApiError("invalid_arguments", f"[ERROR] missing required field: {name}")
    return value


def auth_test(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Who the token belongs to."""
    return {
        "url": "https://emulated.slack.com/",
        "team": "Emulated workspace",
        "user": "certdesk",
        "team_id": state.team_id,
        "user_id": state.bot_user_id,
        "bot_id": state.bot_id,
        "is_enterprise_install": False,
    }


def _message_json(state: State, message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "text": message.text,
        "blocks": message.blocks,
        "user": state.bot_user_id,
        "bot_id": state.bot_id,
        "ts": message.ts,
        **({"thread_ts": message.thread_ts} if message.thread_ts else {}),
        # A file share carries its files, as Slack's history shows them.
        **({"files": [_shared(state, f) for f in message.files]} if message.files else {}),
    }


def _shared(state: State, file_id: str) -> dict[str, Any]:
    file = state.file(file_id)
    return {"id": file.id, "mode": "tombstone"} if file.deleted else file.as_api(state.base_url)


def chat_post_message(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Post a message to a channel the bot is in (or a user's DM when given a user id)."""
    channel = state.resolve_channel(args.get("channel"))
    text, blocks = args.get("text") or "", args.get("blocks") or []
    limits.check_message(text=text, blocks=blocks)
    thread_ts = args.get("thread_ts") or None
    if thread_ts:
        state.find_message(channel, thread_ts)
    metadata = args.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not metadata.get("event_type")
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise ApiError("invalid_metadata_format")
    message = state.add_message(
        Message(state.new_ts(), channel, text, blocks, thread_ts=thread_ts, metadata=metadata)
    )
    return {"channel": channel, "ts": message.ts, "message": _message_json(state, message)}


def conversations_history(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """A channel's top-level messages, newest first, paged by cursor (metadata on request)."""
    channel = state.resolve_channel(args.get("channel"))
    limit = max(1, min(int(args.get("limit") or 100), 999))
    start = int(args.get("cursor") or 0)
    oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
    with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
    shown = [
        m
        for m in reversed(state.messages(channel))
        if not m.is_ephemeral and not m.thread_ts and oldest <= float(m.ts) <= latest
    ]
    page = shown[start : start + limit]
    messages = []
    for message in page:
        found = _message_json(state, message)
        if with_metadata and message.metadata:
            found["metadata"] = message.metadata
        messages.append(found)
    more = start + limit < len(shown)
    return {
        "messages": messages,
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def chat_post_ephemeral(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Show a message to one member of a channel."""
    channel = state.resolve_channel(args.get("channel"))
    user_id = args.get("user")
    if not user_id or not state.has_user(user_id):
        raise ApiError("user_not_found")
    if user_id not in state.members(channel) and not channel.startswith("C"):
        raise ApiError("user_not_in_channel")
    text, blocks = args.get("text") or "", args.get("blocks") or []
    limits.check_message(text=text, blocks=blocks)
    message = state.add_message(Message(state.new_ts(), channel, text, blocks, user=user_id))
    return {"message_ts": message.ts}


def chat_update(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Replace a message's text and blocks in place."""
    channel = state.resolve_channel(args.get("channel"))
    message = state.find_message(channel, required(args, "ts"))
    text = args.get("text", message.text) or ""
    blocks = args.get("blocks", message.blocks)
    limits.check_message(text=text, blocks=blocks)
    message.text, message.blocks = text, blocks or []
    message.edits += 1
    return {
        "channel": channel,
        "ts": message.ts,
        "text": text,
        "message": _message_json(state, message),
    }


def chat_delete(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Delete a message the bot posted."""
    channel = state.resolve_channel(args.get("channel"))
    message = state.find_message(channel, required(args, "ts"))
    message.deleted = True
    return {"channel": channel, "ts": message.ts}


def conversations_open(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Open (or find) the bot's DM with one user; a stable D... id per user."""
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if not users:
        raise ApiError("users_list_not_supplied")
    if len(users) > 1:
        raise ApiError("invalid_arguments", "the emulator opens one-to-one DMs only")
    with state.lock:
        existed = state.has_dm(users[0])
        channel = state.open_dm(users[0])
    return {"no_op": existed, "already_open": existed, "channel": {"id": channel}}


_TZ_LABELS = {
    "UTC": "Coordinated Universal Time",
    "Europe/London": "Greenwich Mean Time",
    "America/New_York": "Eastern Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
    "Asia/Shanghai": "China Standard Time",
    "Asia/Tokyo": "Japan Standard Time",
}


def users_info(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """A user's profile, with the time zone fields Slack returns."""
    user = state.user(str(args.get("user") or ""))
    try:
        zone = ZoneInfo(user.tz)
    except ZoneInfoNotFoundError as exc:
        raise ApiError("fatal_error", f"unknown time zone {user.tz}") from exc
    now = datetime.fromtimestamp(state.clock(), zone)
    offset = now.utcoffset()
    return {
        "user": {
            "id": user.id,
            "team_id": state.team_id,
            "name": user.name,
            "real_name": user.name,
            "deleted": False,
            "tz": user.tz,
            "tz_label": _TZ_LABELS.get(user.tz, now.tzname() or user.tz),
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_admin": user.is_admin,
            "is_owner": False,
            "is_bot": False,
            "profile": {"real_name": user.name, "display_name": user.name, "email": user.email},
        }
    }


def files_get_upload_url(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Reserve a file id and hand out an upload URL on the emulator itself."""
    filename = required(args, "filename")
    length = required(args, "length")
    if not str(length).isdigit():
        raise ApiError("invalid_arguments", "[ERROR] length must be an integer")
    file = SharedFile(state.new_id("F"), filename, filename, b"", owner=state.bot_user_id)
    state.put_file(file)
    return {"upload_url": f"{state.base_url}/upload/{file.id}", "file_id": file.id}


def files_complete_upload(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Finish uploads: set titles and share the files to ``channel_id`` (or keep them private)."""
    entries = required(args, "files")
    if not isinstance(entries, list) or not entries:
        raise ApiError("invalid_arguments", "[ERROR] files must be a non-empty JSON array")
    channels = [c for c in str(args.get("channels") or "").split(",") if c]
    if args.get("channel_id"):
        channels.append(str(args["channel_id"]))
    channels = [state.resolve_channel(c) for c in channels]
    files = [state.file(str(entry.get("id"))) for entry in entries]
    for file, entry in zip(files, entries, strict=True):
        if not file.uploaded or file.deleted:
            raise ApiError("file_not_found", f"{file.id} was never uploaded")
        file.title = entry.get("title") or file.filename
    for channel in channels:
        for file in files:
            file.channels.append(channel)
        state.add_message(
            Message(
                state.new_ts(),
                channel,
                str(args.get("initial_comment") or ""),
                thread_ts=args.get("thread_ts") or None,
                files=[f.id for f in files],
            )
        )
    return {"files": [f.as_api(state.base_url) for f in files]}


def files_info(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Describe one file."""
    file = state.file(str(args.get("file") or ""))
    if file.deleted:
        raise ApiError("file_deleted")
    return {"file": file.as_api(state.base_url)}


def files_delete(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """Delete a file the bot uploaded."""
    file = state.file(str(args.get("file") or ""))
    if file.deleted:
        raise ApiError("file_deleted")
    if file.owner != state.bot_user_id:
        raise ApiError("cant_delete_file")
    file.deleted = True
    return {}


def usergroups_users_list(state: State, args: dict[str, Any]) -> dict[str, Any]:
    """The members of a user group (needs the usergroups:read scope on Slack)."""
    members = state.group_members(str(required(args, "usergroup")))
    if members is None:
        raise ApiError("no_such_subteam")
    return {"users": members}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "conversations.open": conversations_open,
    "conversations.history": conversations_history,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
    "views.open": viewapi.views_open,
    "views.push": viewapi.views_push,
    "views.update": viewapi.views_update,
    "views.publish": viewapi.views_publish,
    "files.getUploadURLExternal": files_get_upload_url,
    "files.completeUploadExternal": files_complete_upload,
    "files.info": files_info,
    "files.delete": files_delete,
}


def call(
    state: State, method: str, args: dict[str, Any], *, token: str | None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Answer one Web API call: (HTTP status, extra headers, JSON body); records it."""
    args = {k: v for k, v in args.items() if k != "token"}
    failure = state.take_failure(method)
    if failure is not None:
        status, retry_after = failure
        error = "ratelimited" if status == 429 else "internal_error"
        state.record(Call(method, args, False, error, state.clock(), token))
        headers = {"Retry-After": str(retry_after)} if status == 429 else {}
        return status, headers, {"ok": False, "error": error}
    try:
        args = _decode(args)
        if method == "api.test":  # Slack answers it without a token
            state.record(Call(method, args, True, None, state.clock(), token))
            return 200, {}, {"ok": True, "args": args}
        if not token:
            raise ApiError("not_authed")
        if token == state.app_token:
            raise ApiError("not_allowed_token_type")  # an app-level token opens sockets only
        team = state.team_for_token(token)
        if team is None:
            raise ApiError("invalid_auth")
        handler = METHODS.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        with state.lock:
            result = handler(state, args)
        if method == "auth.test":
            result["team_id"] = team  # whose token it is
    except ApiError as exc:
        state.record(Call(method, args, False, exc.code, state.clock(), token))
        body: dict[str, Any] = {"ok": False, "error": exc.code}
        if exc.messages:
            body["response_metadata"] = {"messages": exc.messages}
        return 200, {}, body
    state.record(Call(method, args, True, None, state.clock(), token))
    if state.take_lost_answer(method):
        return 500, {}, {"ok": False, "error": "internal_error"}  # it took effect all the same
    delay = state.take_delay(method)
    if delay:
        time.sleep(delay)  # the call took effect; only the answer is late (outside the lock)
    return 200, {}, {"ok": True, **result}
