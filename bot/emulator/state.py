"""The emulated workspace: users, channels, messages, files, view stacks; thread-safe."""

from __future__ import annotations

import copy
import itertools
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.emulator.chaos import Chaos
from bot.emulator.model import ApiError, Call, Message, SharedFile, User
from bot.emulator.oauth import Installs

MAX_VIEW_STACK = 3  # Slack: a modal plus two pushed views


@dataclass
class _Trigger:
    user_id: str
    created: float
    used: bool = False


@dataclass
class _Failure:
    status: int
    retry_after: int
    remaining: int


class State:
    """Everything the emulated Slack workspace holds, plus the record of Web API calls.

    Every public method takes the lock, because the app calls in from server threads
    while tests read from their own.
    """

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        signing_secret: str = "test-signing-secret",
        app_token: str = "xapp-1-A0001-1-test",
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        trigger_ttl: float = 3.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.app_token = app_token  # Socket Mode's app-level token (apps.connections.open)
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id.removeprefix("U")
        self.app_id = "A0001"
        self.trigger_ttl = trigger_ttl
        self.clock = clock
        self.base_url = ""  # set by the server once it knows its port
        self.lock = threading.RLock()
        self._seq = itertools.count(1)
        self._users: dict[str, User] = {}
        self._channels: dict[str, set[str]] = {}  # channel id -> member user ids
        self._groups: dict[str, list[str]] = {}  # user group (S...) id -> member user ids
        self._dms: dict[str, str] = {}  # user id -> D... channel
        self._messages: list[Message] = []
        self._files: dict[str, SharedFile] = {}
        self._stacks: dict[str, list[dict[str, Any]]] = {}
        self._homes: dict[str, dict[str, Any]] = {}
        self._view_errors: dict[str, dict[str, str]] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._calls: list[Call] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._lost_answers: dict[str, int] = {}
        self._delays: dict[str, list[float]] = {}
        self._chaos: Chaos | None = None
        self.response_urls: dict[str, dict[str, Any]] = {}
        self._user_teams: dict[str, str] = {}  # user id -> team (other than team_id)
        self.installs = Installs(
            client_id="1000.2000",
            client_secret="emulated-client-secret",
            clock=clock,
            bot_user_id=bot_user_id,
            app_id=self.app_id,
        )

    # ----- set-up used by tests and the demo -----

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        tz: str = "UTC",
        is_admin: bool = False,
        email: str | None = None,
        team_id: str | None = None,
    ) -> None:
        """Make ``user_id`` a member of the workspace (users.info, conversations.open find it).

        ``team_id``: another workspace than the default one (for OAuth installs).
        """
        with self.lock:
            self._users[user_id] = User(user_id, name, tz, is_admin, email or f"{name}@example.com")
            if team_id and team_id != self.team_id:
                self._user_teams[user_id] = team_id

    def team_of(self, user_id: str) -> str:
        """The workspace a user is in."""
        with self.lock:
            return self._user_teams.get(user_id, self.team_id)

    def team_for_token(self, token: str | None) -> str | None:
        """The workspace a bot token belongs to (None: not a valid bot token)."""
        if not token:
            return None
        if token == self.token:
            return self.team_id
        return self.installs.team_for(token)

    def add_channel(
        self, channel_id: str, *, members: list[str] | None = None, bot_invited: bool = True
    ) -> None:
        """Create a public channel the bot is a member of (so chat.postMessage can reach it);
        with ``bot_invited=False`` the bot was never invited (its posts: ``not_in_channel``)."""
        with self.lock:
            bot = [self.bot_user_id] if bot_invited else []
            self._channels[channel_id] = {*bot, *(members or [])}

    def add_group(self, group_id: str, *, members: list[str]) -> None:
        """Create a user group (an @-handle such as @cert-approvers) with these members."""
        with self.lock:
            self._groups[group_id] = list(members)

    def group_members(self, group_id: str) -> list[str] | None:
        """The members of a user group, or None if there is no such group."""
        with self.lock:
            found = self._groups.get(group_id)
            return list(found) if found is not None else None

    def fail_next(
        self, method: str, *, status: int = 429, retry_after: int = 1, times: int = 1
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail with HTTP ``status`` (429, 500, 503)."""
        with self.lock:
            self._failures.setdefault(method, []).append(_Failure(status, retry_after, times))

    def lose_answer_next(self, method: str, *, times: int = 1) -> None:
        """Let the next ``times`` calls to ``method`` take effect, then answer HTTP 500, as when
        Slack stored a message but the connection dropped before its answer."""
        with self.lock:
            self._lost_answers[method] = self._lost_answers.get(method, 0) + times

    def take_lost_answer(self, method: str) -> bool:
        """Whether this call's answer is to be lost (consumes one, or draws in chaos mode)."""
        with self.lock:
            left = self._lost_answers.get(method, 0)
            if left <= 0:
                return self._chaos is not None and self._chaos.lost_answer(method)
            self._lost_answers[method] = left - 1
            return True

    def fail_at_random(
        self,
        rate: float,
        *,
        seed: int,
        lose: float = 0.0,
        methods: Iterable[str] | None = None,
    ) -> Chaos:
        """Answer a share ``rate`` of calls (to ``methods``, default every method) with 429,
        500 or 503 before acting, and a share ``lose`` of the rest with a 500 after acting;
        drawn from ``random.Random(seed)`` so a run can be repeated. 429s say Retry-After: 0."""
        with self.lock:
            chosen = frozenset(methods) if methods is not None else None
            self._chaos = Chaos(rate, lose, chosen, random.Random(seed))
            return self._chaos

    def stop_failing_at_random(self) -> Chaos | None:
        """End chaos mode; what it injected."""
        with self.lock:
            chaos, self._chaos = self._chaos, None
            return chaos

    def slow_next(self, method: str, *, seconds: float, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` ``seconds`` late, after they took effect
        (how a client comes to die between Slack accepting a message and hearing so)."""
        with self.lock:
            self._delays.setdefault(method, []).extend([seconds] * times)

    def take_delay(self, method: str) -> float:
        """Pop the delay for the next answer to ``method`` (0 when none is set)."""
        with self.lock:
            queue = self._delays.get(method)
            return queue.pop(0) if queue else 0.0

    def new_trigger_id(self, user_id: str) -> str:
        """Issue a trigger_id for ``user_id``, valid once and for ``trigger_ttl`` seconds."""
        with self.lock:
            trigger = f"{int(self.clock())}.{next(self._seq)}.{secrets.token_hex(8)}"
            self._triggers[trigger] = _Trigger(user_id, self.clock())
            return trigger

    def add_user_file(self, user_id: str, *, filename: str, content: bytes) -> dict[str, Any]:
        """Store a file a person picked in a file_input; returns Slack's file object."""
        with self.lock:
            file = SharedFile(self.new_id("F"), filename, filename, content, owner=user_id)
            file.uploaded = True
            self._files[file.id] = file
            return file.as_api(self.base_url)

    # ----- reading, for assertions -----

    @property
    def calls(self) -> list[Call]:
        """Every Web API call so far, in order."""
        with self.lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one Web API method, in order."""
        with self.lock:
            return [c for c in self._calls if c.method == method]

    def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel with ``user_id`` (the same id conversations.open returns)."""
        with self.lock:
            return self.open_dm(user_id)

    def messages(self, channel: str | None = None) -> list[Message]:
        """Messages (latest version of each) in ``channel`` or everywhere, deleted ones left out."""
        with self.lock:
            return [
                copy.deepcopy(m)
                for m in self._messages
                if not m.deleted and (channel is None or m.channel == channel)
            ]

    def dms_to(self, user_id: str) -> list[Message]:
        """Non-ephemeral messages in the bot's DM with ``user_id``."""
        with self.lock:
            channel = self._dms.get(user_id)
            return [m for m in self.messages(channel) if not m.is_ephemeral] if channel else []

    def ephemerals_to(self, user_id: str) -> list[Message]:
        """Ephemeral messages only ``user_id`` sees, anywhere."""
        return [m for m in self.messages() if m.user == user_id]

    @property
    def files(self) -> list[SharedFile]:
        """Every file uploaded so far, including deleted ones (``deleted`` is set)."""
        with self.lock:
            return [copy.deepcopy(f) for f in self._files.values()]

    def current_view(self, user_id: str) -> dict[str, Any] | None:
        """The modal on top of ``user_id``'s stack, or None when no modal is open."""
        with self.lock:
            stack = self._stacks.get(user_id)
            return copy.deepcopy(stack[-1]) if stack else None

    def view_stack(self, user_id: str) -> list[dict[str, Any]]:
        """All modals open for ``user_id``, bottom first."""
        with self.lock:
            return copy.deepcopy(self._stacks.get(user_id, []))

    def users_with_modals(self) -> list[str]:
        """Users who have a modal open right now."""
        with self.lock:
            return [user_id for user_id, stack in self._stacks.items() if stack]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for ``user_id``."""
        with self.lock:
            home = self._homes.get(user_id)
            return copy.deepcopy(home) if home else None

    def view_errors(self, user_id: str) -> dict[str, str]:
        """Field errors from the last view_submission ack (``response_action: errors``)."""
        with self.lock:
            return dict(self._view_errors.get(user_id, {}))

    # ----- internals shared by the Web API methods and SlackSide -----

    def new_id(self, prefix: str) -> str:
        """A fresh Slack-looking id such as ``V000000007``."""
        return f"{prefix}{next(self._seq):09d}"

    def new_ts(self) -> str:
        """A fresh, increasing message timestamp."""
        return f"{int(self.clock())}.{next(self._seq):06d}"

    def record(self, call: Call) -> None:
        """Append one call to the log."""
        with self.lock:
            self._calls.append(call)

    def take_failure(self, method: str) -> tuple[int, int] | None:
        """Pop one injected failure for ``method``: (status, retry_after), or None."""
        with self.lock:
            queue = self._failures.get(method)
            if not queue:
                return self._chaos.failure(method) if self._chaos else None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            return failure.status, failure.retry_after

    def user(self, user_id: str) -> User:
        """The user, or ``user_not_found``."""
        found = self._users.get(user_id)
        if found is None:
            raise ApiError("user_not_found")
        return found

    def has_user(self, user_id: str) -> bool:
        """Whether the user exists."""
        with self.lock:
            return user_id in self._users

    def has_dm(self, user_id: str) -> bool:
        """Whether the bot's DM with ``user_id`` was opened before."""
        return user_id in self._dms

    def open_dm(self, user_id: str) -> str:
        """The DM channel for a known user, created on first use."""
        self.user(user_id)
        if user_id not in self._dms:
            channel = "D" + user_id.removeprefix("U") + f"{len(self._dms) + 1:03d}"
            self._dms[user_id] = channel
            self._channels[channel] = {self.bot_user_id, user_id}
        return self._dms[user_id]

    def resolve_channel(self, channel: object) -> str:
        """A channel the bot may post to: a known C/D/G id, or a user id meaning their DM."""
        if not isinstance(channel, str) or not channel:
            raise ApiError("channel_not_found")
        if channel.startswith(("U", "W")) and channel in self._users:
            return self.open_dm(channel)
        members = self._channels.get(channel)
        if members is None:
            raise ApiError("channel_not_found")
        if self.bot_user_id not in members:
            raise ApiError("not_in_channel")
        return channel

    def members(self, channel: str) -> set[str]:
        """Members of a known channel."""
        return self._channels.get(channel, set())

    def add_message(self, message: Message) -> Message:
        """Store a new message."""
        self._messages.append(message)
        return message

    def find_message(self, channel: str, ts: str) -> Message:
        """The stored message, or ``message_not_found``."""
        for message in self._messages:
            if message.channel == channel and message.ts == ts and not message.deleted:
                return message
        raise ApiError("message_not_found")

    def file(self, file_id: str) -> SharedFile:
        """A stored file, or ``file_not_found``."""
        found = self._files.get(file_id)
        if found is None:
            raise ApiError("file_not_found")
        return found

    def put_file(self, file: SharedFile) -> None:
        """Store a file record."""
        self._files[file.id] = file

    def consume_trigger(self, trigger_id: object) -> str:
        """Use a trigger once: the user it belongs to, or the Slack error for it."""
        if not isinstance(trigger_id, str) or not trigger_id:
            raise ApiError("invalid_arguments", "missing required field: trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if self.clock() - trigger.created > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger.user_id

    def stack(self, user_id: str) -> list[dict[str, Any]]:
        """The live (mutable) modal stack of a user."""
        return self._stacks.setdefault(user_id, [])

    def homes(self) -> dict[str, dict[str, Any]]:
        """The live (mutable) map of published home views."""
        return self._homes

    def find_view(self, *, view_id: str | None, external_id: str | None) -> tuple[str, int]:
        """Where a view lives: (user id, index in stack, or -1 for the home tab)."""
        for user_id, stack in self._stacks.items():
            for index, view in enumerate(stack):
                if view["id"] == view_id or (
                    external_id and view.get("external_id") == external_id
                ):
                    return user_id, index
        for user_id, view in self._homes.items():
            if view["id"] == view_id or (external_id and view.get("external_id") == external_id):
                return user_id, -1
        raise ApiError("not_found")

    def set_view_errors(self, user_id: str, errors: dict[str, str]) -> None:
        """Remember the field errors shown in a user's modal."""
        with self.lock:
            self._view_errors[user_id] = dict(errors)
