"""The shape of the Slack payloads certdesk reads, checked before any listener sees them.

Slack always sends these fields with these types; a signed payload that breaks them is
malformed (a replayed, hand-edited or buggy request), and a listener indexing into it would
raise. Only the fields Bolt and certdesk's listeners read are described: everything else
passes through unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Slack's own limit for action_id, block_id and callback_id.
_ID_MAX = 255


@dataclass(frozen=True)
class Obj:
    """A JSON object: the named fields, when present, have these shapes."""

    fields: dict[str, Any]
    required: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Many:
    """A JSON array whose items all have one shape (and at least ``least`` of them)."""

    item: Any
    least: int = 0


@dataclass(frozen=True)
class Each:
    """A JSON object with any keys whose values all have one shape (view state values)."""

    value: Any


@dataclass(frozen=True)
class Maybe:
    """The shape, or null."""

    inner: Any


class Id:
    """A short string: an id Slack limits to 255 characters."""


def _obj(required: str = "", **fields: Any) -> Obj:
    return Obj(fields, frozenset(required.split()))


_OPTION = _obj("value", value=str)
_ELEMENT = _obj(
    "type",
    type=str,
    value=Maybe(str),
    selected_option=Maybe(_OPTION),
    selected_options=Maybe(Many(_OPTION)),
    selected_user=Maybe(str),
    selected_users=Maybe(Many(str)),
    selected_conversation=Maybe(str),
    selected_channel=Maybe(str),
    selected_date=Maybe(str),
    selected_time=Maybe(str),
    files=Maybe(Many(_obj("id", id=str, name=Maybe(str)))),
)
_VIEW = _obj(
    "id type",
    id=Id,
    type=str,
    callback_id=Id,
    external_id=Id,
    private_metadata=str,
    hash=str,
    root_view_id=Maybe(Id),
    previous_view_id=Maybe(Id),
    blocks=Many(_obj("type", type=str, block_id=Id)),
    state=_obj(values=Each(Each(_ELEMENT))),
)
_ACTION = _obj(
    "action_id",
    action_id=Id,
    block_id=Id,
    type=str,
    value=str,
    action_ts=str,
    selected_option=Maybe(_OPTION),
    selected_options=Maybe(Many(_OPTION)),
    selected_user=Maybe(str),
)
_MESSAGE = _obj(
    ts=str,
    text=str,
    blocks=Many(_obj("type", type=str)),
    metadata=Maybe(_obj(event_type=str, event_payload=Obj({}))),
)
_INTERACTIVE_FIELDS: dict[str, Any] = dict(
    type=Id,
    user=_obj("id", id=Id, team_id=str, name=str, username=str),
    # Null only for org-wide installs, which certdesk is not: its listeners need the team.
    team=_obj("id", id=Id, domain=str),
    api_app_id=str,
    trigger_id=str,
    response_url=str,
    callback_id=Id,
    actions=Many(_ACTION),
    view=_VIEW,
    message=_MESSAGE,
    container=_obj(type=str, message_ts=str, channel_id=str, view_id=str),
    channel=Maybe(_obj(id=Id, name=str)),
    response_urls=Many(_obj(response_url=str)),
    is_enterprise_install=bool,
    enterprise=Maybe(_obj(id=Id)),
)
#: Interactive payloads by type: what each must carry besides type, user and team.
INTERACTIVE = {
    "block_actions": Obj(
        {**_INTERACTIVE_FIELDS, "actions": Many(_ACTION, least=1)},
        frozenset({"type", "user", "team", "actions"}),
    ),
    "view_submission": Obj(_INTERACTIVE_FIELDS, frozenset({"type", "user", "team", "view"})),
    "view_closed": Obj(_INTERACTIVE_FIELDS, frozenset({"type", "user", "team", "view"})),
    "shortcut": Obj(_INTERACTIVE_FIELDS, frozenset({"type", "user", "team", "callback_id"})),
    "message_action": Obj(_INTERACTIVE_FIELDS, frozenset({"type", "user", "team", "callback_id"})),
    "block_suggestion": Obj(_INTERACTIVE_FIELDS, frozenset({"type", "user", "team"})),
}
EVENT = _obj(
    "type",
    type=str,
    token=str,
    challenge=str,
    team_id=Id,
    api_app_id=str,
    event_id=Id,
    event_time=int,
    event=_obj("type", type=str, user=Id, tab=str, channel=Id, event_ts=str),
    authorizations=Many(_obj(team_id=Maybe(Id), user_id=Maybe(Id), enterprise_id=Maybe(Id))),
)
#: Slash commands are form fields, strings by construction; these are the ones Slack always sends.
COMMAND_FIELDS = ("command", "user_id", "team_id", "trigger_id")
_EVENT_TYPES = ("url_verification", "event_callback", "app_rate_limited")


def shape_problem(body: Any) -> str:
    """Why ``body`` (as Bolt parsed it) is not a payload Slack would send; "" if it is."""
    if not isinstance(body, dict):
        return "payload is not an object"
    if "ssl_check" in body:
        return ""
    if "command" in body:
        missing = [name for name in COMMAND_FIELDS if not body.get(name)]
        return f"slash command without {', '.join(missing)}" if missing else ""
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        return "payload has no type"
    schema = EVENT if kind in _EVENT_TYPES else INTERACTIVE.get(kind)
    if schema is None:
        return "payload type unknown"
    return _problem(body, schema, "payload")


def _problem(value: Any, shape: Any, where: str) -> str:
    """The first place ``value`` breaks ``shape`` ("" if none), named by its path."""
    if isinstance(shape, Maybe):
        return "" if value is None else _problem(value, shape.inner, where)
    if shape is Id:
        ok = isinstance(value, str) and len(value) <= _ID_MAX
        return "" if ok else f"{where} is not a short string"
    if isinstance(shape, type):
        # bool is an int in Python; JSON true is never a number here.
        ok = isinstance(value, shape) and not (shape is int and isinstance(value, bool))
        return "" if ok else f"{where} is not {shape.__name__}"
    if isinstance(shape, Many):
        if not isinstance(value, list):
            return f"{where} is not a list"
        if len(value) < shape.least:
            return f"{where} is empty"
        for index, item in enumerate(value):
            problem = _problem(item, shape.item, f"{where}[{index}]")
            if problem:
                return problem
        return ""
    if not isinstance(value, dict):
        return f"{where} is not an object"
    if isinstance(shape, Each):
        for item in value.values():
            problem = _problem(item, shape.value, f"{where}.*")
            if problem:
                return problem
        return ""
    missing = sorted(shape.required - value.keys())
    if missing:
        return f"{where} has no {missing[0]}"
    for name, inner in shape.fields.items():
        if name in value:
            problem = _problem(value[name], inner, f"{where}.{name}")
            if problem:
                return problem
    return ""
