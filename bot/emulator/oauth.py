"""Slack's install flow, emulated: the consent page, oauth.v2.access, rotating bot tokens.

Several workspaces can install the app; each gets its own bot token, and with
``token_ttl`` set, tokens expire and are refreshed by ``grant_type=refresh_token`` as with
Slack's token rotation. The emulator's own ``token`` stays valid for its default team.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.emulator.model import ApiError

#: How long an authorization code may wait for oauth.v2.access (Slack: 10 minutes).
CODE_TTL = 600.0


@dataclass(frozen=True)
class _Grant:
    team_id: str
    expires_at: float | None


@dataclass(frozen=True)
class _Code:
    team_id: str
    user_id: str
    redirect_uri: str | None
    scopes: str
    issued: float


class Installs:
    """Which workspaces installed the app, with their bot and refresh tokens."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float],
        bot_user_id: str,
        app_id: str,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.clock = clock
        self.bot_user_id, self.app_id = bot_user_id, app_id
        #: Seconds a bot token lives (token rotation on), or None (tokens never expire).
        self.token_ttl: float | None = None
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, _Grant] = {}
        self._refresh: dict[str, str] = {}  # refresh token -> team
        self.team_names: dict[str, str] = {}
        #: Bot tokens handed out by a refresh (token rotation), for assertions.
        self.rotated: set[str] = set()

    def team_for(self, token: str) -> str | None:
        """The team a bot token belongs to; None when unknown, revoked or expired."""
        with self._lock:
            grant = self._tokens.get(token)
        if grant is None:
            return None
        if grant.expires_at is not None and grant.expires_at <= self.clock():
            return None
        return grant.team_id

    def tokens_of(self, team_id: str) -> list[str]:
        """The team's bot tokens still known (rotation keeps the old one until it expires)."""
        with self._lock:
            return [t for t, g in self._tokens.items() if g.team_id == team_id]

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """GET /oauth/v2/authorize: the person (``user`` of ``team``) approves; 302 back."""
        if query.get("client_id") != self.client_id:
            return 400, {}, b"invalid client_id"
        redirect, team, user = query.get("redirect_uri"), query.get("team"), query.get("user")
        if not redirect or not team or not user:
            return 400, {}, b"redirect_uri, team and user are required here"
        code = f"{team}.{secrets.token_hex(8)}"
        with self._lock:
            self._codes[code] = _Code(team, user, redirect, query.get("scope", ""), self.clock())
        location = f"{redirect}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return 302, {"Location": location}, b""

    def access(self, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        """oauth.v2.access: a code for a bot token, or (rotation) a refresh token for a new one."""
        client_id, secret = _client_credentials(args, authorization)
        if client_id != self.client_id:
            raise ApiError("invalid_client_id")
        if secret != self.client_secret:
            raise ApiError("bad_client_secret")
        if args.get("grant_type") == "refresh_token":
            return self._refresh_token(str(args.get("refresh_token") or ""))
        with self._lock:
            code = self._codes.pop(str(args.get("code") or ""), None)
        if code is None or self.clock() - code.issued > CODE_TTL:
            raise ApiError("invalid_code")
        if code.redirect_uri and args.get("redirect_uri") not in (None, code.redirect_uri):
            raise ApiError("bad_redirect_uri")
        return {
            **self._issue(code.team_id),
            "scope": code.scopes,
            "bot_user_id": self.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": code.team_id, "name": self.team_names.get(code.team_id, code.team_id)},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": code.user_id},
        }

    def revoke(self, team_id: str) -> None:
        """The workspace uninstalled the app: all its tokens stop working."""
        with self._lock:
            for token in [t for t, g in self._tokens.items() if g.team_id == team_id]:
                del self._tokens[token]
            for refresh in [r for r, t in self._refresh.items() if t == team_id]:
                del self._refresh[refresh]

    def _refresh_token(self, refresh: str) -> dict[str, Any]:
        with self._lock:
            team_id = self._refresh.get(refresh)  # valid until the workspace revokes it
        if team_id is None:
            raise ApiError("invalid_refresh_token")
        issued = self._issue(team_id)
        with self._lock:
            self.rotated.add(issued["access_token"])
        return {**issued, "team": {"id": team_id}, "enterprise": None}

    def _issue(self, team_id: str) -> dict[str, Any]:
        token = f"xoxb-{team_id}-{secrets.token_hex(6)}"
        ttl = self.token_ttl
        grant = _Grant(team_id, self.clock() + ttl if ttl else None)
        issued: dict[str, Any] = {"access_token": token, "token_type": "bot"}
        with self._lock:
            self._tokens[token] = grant
            if ttl:
                refresh = f"xoxe-1-{secrets.token_hex(8)}"
                self._refresh[refresh] = team_id
                issued |= {"refresh_token": refresh, "expires_in": int(ttl)}
        return issued


def _client_credentials(args: dict[str, Any], authorization: str) -> tuple[str, str]:
    """client_id and client_secret from HTTP Basic auth (slack_sdk's way) or the form."""
    if authorization.startswith("Basic "):
        try:
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
        except ValueError:
            raise ApiError("invalid_client_id") from None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(args.get("client_id") or ""), str(args.get("client_secret") or "")
