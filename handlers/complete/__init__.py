"""Complete information and submit for review: `/cert complete ID`, its buttons and modals."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot.errors import Error, FieldErrors
from bot.orders import complete
from bot.orders.submission import send_to_ca
from bot.services import Services
from bot.views import ids
from bot.views.common import plain, section
from bot.views.complete import complete_modal, confirm_view, order_id_from
from handlers.commands import ORDER_SUBCOMMANDS
from handlers.replies import guarded, incident_id, something_went_wrong
from handlers.values import view_values

logger = logging.getLogger(__name__)


def notice_view(title: str, text: str) -> View:
    """A modal that only says something (used to answer a confirmation that cannot proceed)."""
    return View(type="modal", title=plain(title), close=plain("Close"), blocks=[section(text)])


def field_errors(view: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """Errors keyed by block ids that exist in ``view`` (Slack rejects any other key)."""
    present = {b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"}
    shown = {k: v[:2000] for k, v in errors.items() if k in present}
    stray = [v for k, v in errors.items() if k not in present]
    if stray:
        first = ids.DOMAINS if ids.DOMAINS in present else next(iter(present), ids.DOMAINS)
        shown[first] = " ".join([shown.get(first, ""), *stray]).strip()[:2000]
    return shown


def register(app: App, services: Services) -> None:
    """Listen for the Complete command, buttons and modals."""

    def open_modal(client: WebClient, trigger_id: str, order_id: int, user_id: str) -> None:
        editing = complete.open_for_editing(services, order_id, user_id=user_id)
        view = complete_modal(editing.order, editing.values, saved_orgs=editing.saved_orgs)
        view.notify_on_close = True
        client.views_open(trigger_id=trigger_id, view=view)

    def from_command(
        *, ack: Ack, client: WebClient, command: dict[str, Any], order_id: int
    ) -> None:
        open_modal(client, command["trigger_id"], order_id, command["user_id"])
        ack()

    ORDER_SUBCOMMANDS["complete"] = from_command

    @app.action(ids.OPEN_COMPLETE)
    @app.action(ids.REVISE)
    def from_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        user_id = body["user"]["id"]

        def tell(text: str) -> None:
            services.background.submit(services.notifier.dm, user_id, text=text)

        guarded(tell, lambda: open_modal(client, body["trigger_id"], int(action["value"]), user_id))

    @app.view(ids.COMPLETE)
    def submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        order_id = order_id_from(view)
        try:
            order, application = complete.check_and_save(
                services, order_id, user_id=user_id, raw=view_values(view)
            )
        except FieldErrors as exc:
            ack(response_action="errors", errors=field_errors(view, exc.errors))
            return
        except Error as exc:
            ack(response_action="errors", errors=field_errors(view, {"": str(exc)}))
            return
        except Exception:
            incident = incident_id()
            logger.exception("incident %s", incident)
            ack(
                response_action="errors",
                errors=field_errors(view, {"": something_went_wrong(incident)}),
            )
            return
        ack(response_action="push", view=confirm_view(order, application))

    @app.view_closed(ids.COMPLETE)
    def closed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()
        user_id = body["user"]["id"]
        guarded(
            lambda _text: None,
            lambda: complete.save_draft(
                services, order_id_from(view), user_id=user_id, raw=view_values(view)
            ),
        )

    @app.view(ids.CONFIRM_SUBMIT)
    def confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]

        def tell(text: str) -> None:
            ack(response_action="update", view=notice_view("Not submitted", text))

        def run() -> None:
            order = complete.submit(services, order_id_from(view), user_id=user_id)
            ack(response_action="clear")
            services.background.submit(send_to_ca, services, order.id)

        guarded(tell, run)
