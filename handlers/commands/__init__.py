"""The `/cert` slash command: help, new, list, status (and complete, from its own module)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.models.blocks import Block

from bot.access import Need, parse_ref
from bot.errors import Error
from bot.list_query import parse_list_query
from bot.orders import admins, lookup
from bot.services import Services
from bot.views import ids, orders
from bot.views.common import esc, section, to_dicts
from handlers import approval
from handlers.new_order import open_new_order
from handlers.opening import OrderCommands
from handlers.replies import SLOW, Reply, ack_in_time, dm, guarded, later
from handlers.values import team_id as acting_team


def register(app: App, services: Services, *, order_commands: OrderCommands) -> None:
    """Listen for `/cert`; words taking an order ID go to ``order_commands`` (other surfaces')."""

    @app.command(ids.COMMAND)
    def cert(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        word, _, rest = str(command.get("text") or "").strip().partition(" ")
        word = word.lower()
        user_id, team_id = str(command.get("user_id") or ""), str(command.get("team_id") or "")
        # The work answers through ``reply``; the ack goes out here, on time, whatever the
        # database does: the answer when it came in time, else a polite sentence.
        reply = Reply()

        def tell(text: str) -> None:
            reply(text=text, response_type="ephemeral")

        def run() -> None:
            if word == "new":
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
                text, blocks = list_answer(services, team_id=team_id, user_id=user_id, words=rest)
                reply(text=text, blocks=to_dicts(blocks), response_type="ephemeral")
            elif word == "status" or word in order_commands:
                if not rest.strip():
                    raise Error(
                        f"Which order? Try `/cert {word} CD-0042`; `/cert list` shows yours."
                    )
                order_id = parse_ref(rest)
                if word == "status":
                    show_status(reply, order_id, user_id=user_id)
                else:
                    order_commands[word](
                        reply=reply, client=client, command=command, order_id=order_id
                    )
            else:
                help_text, help_blocks = orders.help_reply()
                if word and word != "help":
                    help_text = f"I don't know `/cert {esc(word[:40])}`. Here is what I can do."
                    help_blocks = (section(help_text).to_dict(), *help_blocks)
                reply(text=help_text, blocks=list(help_blocks), response_type="ephemeral")

        ack_in_time(ack, reply, lambda: guarded(tell, run), text=SLOW, response_type="ephemeral")

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
                respond(text=text, blocks=to_dicts(blocks), replace_original=True)

        later(services, body, run)

    app.action(ids.LIST_OLDER)(paged)
    app.action(ids.LIST_NEWER)(paged)

    def show_status(reply: Reply, order_id: int, *, user_id: str) -> None:
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
) -> tuple[str, list[Block]]:
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
