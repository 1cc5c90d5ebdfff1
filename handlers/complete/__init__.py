"""Complete information and submit for review: `/cert complete ID`, its buttons and modals."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.models.views import View

from bot import workflow
from bot.errors import Error, FieldErrors
from bot.orders import approval, complete
from bot.orders.submission import send_to_ca
from bot.services import Services
from bot.views import ids
from bot.views.common import plain, section
from bot.views.complete import complete_modal, confirm_view, order_id_from
from handlers.opening import OrderCommands, open_order_modal
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


def register(app: App, services: Services) -> OrderCommands:
    """Listen for the Complete command, buttons and modals."""

    def build(order_id: int, user_id: str) -> View:
        editing = complete.open_for_editing(services, order_id, user_id=user_id)
        view = complete_modal(
            editing.order,
            editing.values,
            saved_orgs=editing.saved_orgs,
            by_email=services.ca.emails_applicant,
        )
        view.notify_on_close = True  # closing saves the draft too
        return view

    commands = open_order_modal(
        app,
        services,
        build=build,
        action_ids=(ids.OPEN_COMPLETE, ids.REVISE),
        commands=("complete",),
    )

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
        confirm = confirm_view(
            order,
            application,
            by_email=services.ca.emails_applicant,
            needs_approval=services.settings.needs_approval(order.product),
        )
        ack(response_action="push", view=confirm)

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
            if order.state == workflow.State.AWAITING_APPROVAL:
                services.background.submit(approval.ask_approvers, services, order.id)
            else:
                services.background.submit(send_to_ca, services, order.id)

        guarded(tell, run)

    return commands
