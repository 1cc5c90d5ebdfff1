"""`/cert` answers given at the HTTP edge, without Bolt's dispatch.

Bolt matches a request against every listener in turn, building all of its keyword
arguments for each (~30 listeners here): for `/cert help` that was most of the request's
cost. What Bolt does for a slash command is done here as well, in the same order:

- the signature, its age and the size cap: ``bot.edge`` checked them on the raw body, and
  parsed the body exactly as Bolt does (its own ``parse_body``) and checked its shape;
- Bolt's SSL check: a body carrying ``ssl_check`` goes to Bolt;
- authorization: only in a single-workspace install (a bot token, no OAuth), where Bolt
  checks the token once (``auth.test``) and then lets every signed request through; until
  Bolt has authorized a request in this process, every request goes to Bolt. With many
  workspaces (OAuth) each request needs its workspace's installation: always Bolt;
- routing: only the `/cert` command, and only words that need no Web API client
  (``handlers.commands.Commands.needs_client``; `new` and the words that open a modal go
  to Bolt, which hands listeners their client);
- the global middleware: the log context (``bot.request_context.bind``);
- the listener: the very same ``Commands.answer``, acked with the JSON Bolt's ``Ack`` would
  send (``acked_json``; an ack of another shape goes through Bolt's own ``Ack``); an
  unexpected error gets Bolt's 500 with an incident.

Each listener's per-user checks (who may see which order) are in ``Commands.answer`` and
run unchanged.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

import orjson
from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.context.ack import Ack
from slack_bolt.request.internals import extract_enterprise_id, extract_team_id

from bot import request_context
from bot.edge import Answer
from bot.views import ids
from handlers.commands import Commands
from handlers.replies import incident_id

logger = logging.getLogger(__name__)


class QuickCommands:
    """The edge's shortcut for one single-workspace app (see the module's docstring)."""

    def __init__(self, commands: Commands, *, command: str = ids.COMMAND) -> None:
        self.commands = commands
        self.command = command
        #: Set once Bolt has authorized a request with the bot token (single workspace).
        self.authorized = False

    def note_authorized(
        self,
        context: BoltContext,
        next: Callable[[], BoltResponse],  # noqa: A002
    ) -> BoltResponse:
        """Bolt global middleware: runs only after Bolt's own authorization let a request in."""
        result = context.authorize_result
        if result is not None and result.bot_token:
            self.authorized = True
        return next()

    def __call__(self, body: dict[str, Any]) -> Answer | None:
        """The HTTP answer to a verified, parsed request, or None to let Bolt answer it."""
        if not self.authorized or body.get("command") != self.command or "ssl_check" in body:
            return None
        if self.commands.needs_client(body):
            return None
        request_context.bind(body, team=extract_team_id(body) or extract_enterprise_id(body))
        return self._answer(body)

    def _answer(self, body: dict[str, Any]) -> Answer:
        try:
            fields = self.commands.answer(body, client=None)
            if (content := acked_json(fields)) is not None:
                return (
                    "200 OK",
                    [("content-type", JSON), ("content-length", str(len(content)))],
                    content,
                )
            response = Ack()(**fields)
        except Exception as error:
            # As handlers.errors does for Bolt: a log line with the incident, a 500.
            incident = incident_id()
            logger.error("incident %s: unhandled error", incident, exc_info=error)
            response = BoltResponse(status=500, body=f"incident {incident}")
        http = WsgiHttpResponse(
            status=response.status, headers=response.headers, body=response.body
        )
        return http.status, http.get_headers(), b"".join(http.get_body())


#: Bolt's content type for an ack with a body.
JSON = "application/json;charset=utf-8"
_MESSAGE_FIELDS = frozenset({"text", "blocks", "response_type"})


def acked_json(fields: dict[str, Any]) -> bytes | None:
    """The JSON body Bolt's ``ack(**fields)`` answers, for a message of text, Block Kit dicts
    and a response type; None for any other ack (Bolt's own Ack builds those).

    Bolt encodes with ``json.dumps``: for a page of orders (~7 KB) that was a tenth of the
    request. orjson writes the same document, without spaces and with UTF-8 unescaped; it
    refuses what is not plain JSON data (a Block Kit model object: Bolt converts those).
    """
    if not fields.keys() <= _MESSAGE_FIELDS or not fields.get("response_type"):
        return None
    answer: dict[str, Any] = {
        "text": fields.get("text", ""),
        "response_type": fields["response_type"],
    }
    if fields.get("blocks"):
        answer["blocks"] = fields["blocks"]
    try:
        return orjson.dumps(answer)
    except TypeError:
        return None


_INSTALLED: weakref.WeakKeyDictionary[App, QuickCommands] = weakref.WeakKeyDictionary()


def install(app: App, commands: Commands) -> QuickCommands:
    """Let the HTTP edge answer ``app``'s quick `/cert` words (single-workspace apps only)."""
    quick = QuickCommands(commands)

    def note_authorized(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002
        return quick.note_authorized(context, next)

    app.use(note_authorized)
    _INSTALLED[app] = quick
    return quick


def for_app(app: App) -> QuickCommands | None:
    """The shortcut installed for ``app``, if any."""
    return _INSTALLED.get(app)
