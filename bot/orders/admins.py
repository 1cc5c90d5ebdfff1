"""A workspace's own certdesk admins (OAuth mode): `/cert admin list|add|remove`, audited."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import Error, NotAllowed
from bot.services import Services
from storage import queries, workspaces

#: A user as typed: a mention (<@U…> or <@U…|name>) or a bare user ID.
_USER = re.compile(r"^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$|^([UW][A-Z0-9]{2,20})$")


@dataclass(frozen=True)
class AdminAnswer:
    """What `/cert admin` did: ``action`` is list, added, removed, already or absent."""

    action: str
    admins: frozenset[str]
    operators: frozenset[str]  # CERTDESK_ADMINS: admins everywhere, not managed here
    user: str | None = None


def admin_command(
    services: Services, *, team_id: str, user_id: str, text: str
) -> AdminAnswer | SettingAnswer:
    """Run `/cert admin <text>` for ``user_id`` of ``team_id``."""
    if not services.settings.oauth:
        raise Error(
            "This certdesk serves one workspace: its admins are set by whoever runs it "
            "(CERTDESK_ADMINS)."
        )
    word, _, rest = text.strip().partition(" ")
    word = word.lower() or "list"
    operators = services.settings.admins
    if word == "list":
        return AdminAnswer("list", services.admins(team_id) - operators, operators)
    if word in ("channel", "approvers"):
        return _setting(services, word, team_id=team_id, user_id=user_id, text=rest)
    if word not in ("add", "remove"):
        raise Error(
            "Try `/cert admin list`, `/cert admin add @person` or `/cert admin remove @person`."
        )
    if not services.is_admin(user_id):
        raise NotAllowed("Only this workspace's certdesk admins can change who the admins are.")
    match = _USER.match(rest.strip())
    if not match:
        raise Error(f"Name one person as `/cert admin {word} @person` (or their member ID, U…).")
    target = match.group(1) or match.group(2)
    with services.sessions.begin() as session:
        if word == "add":
            changed = workspaces.add_admin(session, team_id, target, by=user_id)
        else:
            current = workspaces.admins_of(session, team_id)
            if current == {target}:
                raise NotAllowed(
                    "That is the workspace's last certdesk admin: add another before removing them."
                )
            changed = workspaces.remove_admin(session, team_id, target)
        if changed:
            queries.record(
                session,
                order_id=None,
                actor=user_id,
                action=f"admin_{'added' if word == 'add' else 'removed'}",
                team_id=team_id,
                user_id=target,
            )
        admins = workspaces.admins_of(session, team_id)
    action = (
        ("added" if word == "add" else "removed")
        if changed
        else ("already" if word == "add" else "absent")
    )
    return AdminAnswer(action, admins, operators, target)


#: A channel as typed: <#C…|name>, <#C…> or a bare channel ID.
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]{2,20})(?:\|[^>]*)?>$|^([CG][A-Z0-9]{2,20})$")
#: An approver: a person (as _USER) or a user group (<!subteam^S…|@name> or S…).
_GROUP = re.compile(r"^<!subteam\^(S[A-Z0-9]{2,20})(?:\|[^>]*)?>$|^(S[A-Z0-9]{2,20})$")


@dataclass(frozen=True)
class SettingAnswer:
    """The workspace's notify channel and approvers after `/cert admin channel|approvers`."""

    channel: str | None
    approvers: frozenset[str]


def _setting(
    services: Services, word: str, *, team_id: str, user_id: str, text: str
) -> SettingAnswer:
    verb, _, value = text.strip().partition(" ")
    verb, value = verb.lower(), value.strip()
    if verb in ("", "list"):
        return _current(services, team_id)
    if not services.is_admin(user_id):
        raise NotAllowed("Only this workspace's certdesk admins can change its settings.")
    with services.sessions.begin() as session:
        channel, approvers = workspaces.settings_of(session, team_id)
        if word == "channel":
            picked = _CHANNEL.match(text.strip())  # as typed: channel IDs are upper case
            if verb == "none":
                channel = None
            elif picked:
                channel = picked.group(1) or picked.group(2)
            else:
                raise Error("Name the channel as `/cert admin channel #channel` (or `none`).")
            workspaces.set_notify_channel(session, team_id, channel)
            detail: dict[str, object] = {"channel": channel}
        else:
            entry = _approver(value)
            if verb not in ("add", "remove") or entry is None:
                raise Error(
                    "Try `/cert admin approvers add @person`, `… add @group` or `… remove @person`."
                )
            approvers = approvers | {entry} if verb == "add" else approvers - {entry}
            workspaces.set_approvers(session, team_id, approvers)
            detail = {"approver": entry, "change": verb}
        queries.record(
            session, order_id=None, actor=user_id, action=f"workspace_{word}", team_id=team_id,
            **detail,
        )  # fmt: skip
    return _current(services, team_id)


def _approver(text: str) -> str | None:
    for pattern in (_USER, _GROUP):
        found = pattern.match(text)
        if found:
            return found.group(1) or found.group(2)
    return None


def _current(services: Services, team_id: str) -> SettingAnswer:
    with services.sessions.begin() as session:
        channel, approvers = workspaces.settings_of(session, team_id)
    return SettingAnswer(channel, approvers)


def first_admin(services: Services, team_id: str, user_id: str | None) -> None:
    """The person who installs certdesk in a workspace with no admins becomes its first."""
    if not user_id:
        return
    with services.sessions.begin() as session:
        if not workspaces.admins_of(session, team_id):
            workspaces.add_admin(session, team_id, user_id, by=user_id)
            queries.record(
                session,
                order_id=None,
                actor=user_id,
                action="admin_added",
                team_id=team_id,
                user_id=user_id,
                why="installed certdesk",
            )
