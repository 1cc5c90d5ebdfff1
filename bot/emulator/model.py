"""Records the emulator keeps: Web API calls, messages, files, users, and the API error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ApiError(Exception):
    """A Slack-style failure: ``{"ok": false, "error": code}`` plus optional detail messages."""

    def __init__(self, code: str, *messages: str) -> None:
        super().__init__(code)
        self.code = code
        self.messages = list(messages)


@dataclass(frozen=True)
class Call:
    """One Web API call as the emulator received it (token removed from ``args``)."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    at: float
    #: The token the call came with (which workspace's token was used).
    token: str | None = None


@dataclass
class Message:
    """A message as people see it: posted, updated in place, or ephemeral (``user`` set)."""

    ts: str
    channel: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    user: str | None = None
    thread_ts: str | None = None
    files: list[str] = field(default_factory=list)
    edits: int = 0
    deleted: bool = False
    #: Slack message metadata ({"event_type": ..., "event_payload": {...}}), if posted with it.
    metadata: dict[str, Any] | None = None

    @property
    def is_ephemeral(self) -> bool:
        """Whether only ``user`` sees this message."""
        return self.user is not None


@dataclass
class SharedFile:
    """A file uploaded through the emulator (by the app, or by a person in a file_input)."""

    id: str
    filename: str
    title: str
    content: bytes
    channels: list[str] = field(default_factory=list)
    deleted: bool = False
    uploaded: bool = False
    owner: str = ""

    def as_api(self, base_url: str) -> dict[str, Any]:
        """The file object Slack returns from files.* methods and in file_input state."""
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title,
            "size": len(self.content),
            "user": self.owner,
            "channels": [c for c in self.channels if not c.startswith("D")],
            "ims": [c for c in self.channels if c.startswith("D")],
            "url_private": f"{base_url}/files/{self.id}/{self.filename}",
            "url_private_download": f"{base_url}/files/{self.id}/{self.filename}",
        }


@dataclass
class User:
    """A workspace member the emulator knows."""

    id: str
    name: str
    tz: str = "UTC"
    is_admin: bool = False
    email: str | None = None
