"""The `/cert` slash command: help, new, list, status (and complete, from its own module)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.access import Need, parse_ref
from bot.errors import Error
from bot.list_query import parse_list_query
from bot.orders import admins, lookup
from bot.services import Services
from bot.views import ids, orders
from bot.views.common import esc, section_dict, to_dicts
from handlers import approval
from handlers.new_order import open_new_order
from handlers.opening import OrderCommands
from handlers.replies import (
    REQUEST_POOL,
    SLOW,
    SQLITE_READS,
    Reply,
    answer_in_time,
    dm,
    guarded,
    later,
)
from handlers.values import team_id as acting_team

#: Words that do work (the database, Slack); any other word is answered with the help.
_WORKING = frozenset({"new", "approvals", "admin", "list", "status"})
#: Words that only read the store (on SQLite they run on replies.SQLITE_READS).
_READING = frozenset({"approvals", "list", "status"})


def _words(command: dict[str, Any]) -> tuple[str, str]:
    """The subcommand (lower case) and the rest of what was typed after `/cert`."""
    word, _, rest = str(command.get("text") or "").strip().partition(" ")
    return word.lower(), rest


class Commands:
    """`/cert`'s answers for one app: its own words, and those other surfaces registered."""

    def __init__(self, services: Services, order_commands: OrderCommands) -> None:
        self.services = services
        self.order_commands = order_commands
        #: Reads of a SQLite file go to their own thread (replies.SQLITE_READS).
        self._reads = SQLITE_READS if services.engine.dialect.name == "sqlite" else REQUEST_POOL

    def needs_client(self, command: dict[str, Any]) -> bool:
        """Whether answering calls Slack's Web API (a modal opens), so only Bolt can."""
        word, _ = _words(command)
        return word == "new" or word in self.order_commands

    def answer(self, command: dict[str, Any], client: WebClient | None) -> dict[str, Any]:
        """The ack's fields for ``command``: its answer if the work finished in time, else a
        polite sentence. ``client`` may be None when ``needs_client`` says so."""
        word, rest = _words(command)
        if word not in _WORKING and word not in self.order_commands:
            return help_answer(word)  # nothing to wait for: no database, no Slack
        services, order_commands = self.services, self.order_commands
        user_id, team_id = str(command.get("user_id") or ""), str(command.get("team_id") or "")
        # The work answers through ``reply``; the answer goes out on time whatever the
        # database does: the answer when it came in time, else a polite sentence.
        reply = Reply()

        def tell(text: str) -> None:
            reply(text=text, response_type="ephemeral")

        def run() -> None:
            if word == "new":
                assert client is not None, "needs_client: only Bolt answers `new`"
                reply()
                open_new_order(services, client, trigger_id=command.get("trigger_id"))
            elif word == "approvals":
                text, blocks = approval.waiting_answer(services, user_id)
                reply(text=text, blocks=to_dicts(blocks), response_type="ephemeral")
            elif word == "admin":
                done = admins.admin_command(services, team_id=team_id, user_id=user_id, text=rest)
                if isinstance(done, admins.SettingAnswer):
                    text = orders.workspace_settings(done.channel, sorted(done.approvers))
                else:
                    text = orders.admin_answer(
                        done.action,
                        admins=sorted(done.admins),
                        operators=sorted(done.operators),
                        user=done.user,
                    )
                reply(text=text, response_type="ephemeral")
            elif word == "list":
                text, page = list_answer(services, team_id=team_id, user_id=user_id, words=rest)
                reply(text=text, blocks=page, response_type="ephemeral")
            else:  # status, or a word another surface registered
                if not rest.strip():
                    raise Error(
                        f"Which order? Try `/cert {word} CD-0042`; `/cert list` shows yours."
                    )
                order_id = parse_ref(rest)
                if word == "status":
                    show_status(services, reply, order_id, user_id=user_id)
                else:
                    assert client is not None, "needs_client: only Bolt opens a modal"
                    order_commands[word](
                        reply=reply, client=client, command=command, order_id=order_id
                    )

        return answer_in_time(
            reply,
            lambda: guarded(tell, run),
            pool=self._reads if word in _READING else REQUEST_POOL,
            text=SLOW,
            response_type="ephemeral",
        )


def help_answer(word: str) -> dict[str, Any]:
    """`/cert help` (or a word certdesk does not know): built once, never re-validated."""
    help_text, help_blocks = orders.help_reply()
    if word and word != "help":
        help_text = f"I don't know `/cert {esc(word[:40])}`. Here is what I can do."
        help_blocks = (section_dict(help_text), *help_blocks)
    return {"text": help_text, "blocks": list(help_blocks), "response_type": "ephemeral"}


def register(app: App, services: Services, *, order_commands: OrderCommands) -> Commands:
    """Listen for `/cert`; words taking an order ID go to ``order_commands`` (other surfaces').

    Returns the answers, so the HTTP edge can give those that need no Web API client itself.
    """
    commands = Commands(services, order_commands)

    @app.command(ids.COMMAND)
    def cert(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack(**commands.answer(command, client))

    def paged(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()  # the page is read after the ack; a refusal comes by DM

        def run(user_id: str) -> None:
            words, before, after = orders.read_list_cursor(str(action.get("value") or ""))
            text, blocks = list_answer(
                services,
                team_id=acting_team(body),
                user_id=user_id,
                words=words,
                before=before,
                after=after,
            )
            if respond is None:  # no response_url: the page goes to the DM instead
                dm(services, user_id, text, blocks)
            else:
                respond(text=text, blocks=blocks, replace_original=True)

        later(services, body, run)

    app.action(ids.LIST_OLDER)(paged)
    app.action(ids.LIST_NEWER)(paged)
    return commands


def show_status(services: Services, reply: Reply, order_id: int, *, user_id: str) -> None:
    """`/cert status ID`: the order, if the user may see it."""
    order = lookup.order_for(services, order_id, user_id=user_id, need=Need.VIEW)
    can_act = services.may_act(order, user_id)
    text, blocks = orders.order_status(order, can_act=can_act, viewer=user_id)
    reply(text=text, blocks=to_dicts(blocks), response_type="ephemeral")


def list_answer(
    services: Services,
    *,
    team_id: str,
    user_id: str,
    words: str,
    before: int | None = None,
    after: int | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """One page of `/cert list [filter]` (ValidationError for a filter it cannot read)."""
    query = parse_list_query(words)
    found = lookup.list_page(
        services, team_id=team_id, user_id=user_id, query=query, before=before, after=after
    )
    return orders.list_page(
        found.page.orders,
        total=found.total,
        words=query.words,
        older=found.page.older,
        newer=found.page.newer,
        user_id=user_id,
        admin=services.is_admin(user_id),
        capped=found.total >= lookup.COUNT_CAP,
    )
