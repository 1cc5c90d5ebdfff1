"""Complete information and submit for review: `/cert complete ID`, its buttons and modals."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk.models.views import View

from bot import workflow
from bot.errors import Error, FieldErrors
from bot.orders import approval, complete
from bot.orders.submission import send_to_ca
from bot.services import Services
from bot.views import ids
from bot.views.common import notice_modal
from bot.views.complete import CAOffer, complete_modal, confirm_view
from handlers.opening import OrderCommands, open_order_modal
from handlers.replies import (
    DATABASE_AWAY,
    SLOW,
    SLOW_FORM,
    Reply,
    ack_in_time,
    guarded,
    keep_open,
    later,
)
from handlers.values import user_id as acting_user
from handlers.values import view_kept, view_order_id, view_values
from storage.models import Order

#: Said by DM when a closed Complete modal could not be kept as a draft.
DRAFT_NOT_SAVED = (
    "certdesk's database is not answering, so what you typed in the form you just closed "
    "was not kept as a draft. Open it again in a minute (`/cert list` shows your orders)."
)


def field_errors(view: dict[str, Any], errors: dict[str, str]) -> dict[str, str]:
    """Errors keyed by block ids that exist in ``view`` (Slack rejects any other key)."""
    blocks = view.get("blocks") if isinstance(view, dict) else None
    present: set[str] = {
        b["block_id"]
        for b in (blocks if isinstance(blocks, list) else [])
        if isinstance(b, dict) and b.get("type") == "input" and isinstance(b.get("block_id"), str)
    }
    shown = {k: v[:2000] for k, v in errors.items() if k in present}
    stray = [v for k, v in errors.items() if k not in present]
    if stray:
        first = ids.DOMAINS if ids.DOMAINS in present else next(iter(present), ids.DOMAINS)
        shown[first] = " ".join([shown.get(first, ""), *stray]).strip()[:2000]
    return shown


def offer_for(services: Services, order: Order) -> CAOffer:
    """What the configured CA offers this order: key made by the CA, algorithms, registration."""
    ca = services.ca
    return CAOffer(
        ca_title=ca.display_name or ca.name,
        generates_keys=ca.generates_keys,
        key_algorithms=complete.purchase_key_algorithms(order),
        registration_number=ca.needs_registration_number(order.product),
    )


def register(app: App, services: Services) -> OrderCommands:
    """Listen for the Complete command, buttons and modals."""

    def build(order_id: int, user_id: str) -> View:
        editing = complete.open_for_editing(services, order_id, user_id=user_id)
        view = complete_modal(
            editing.order,
            editing.values,
            saved_orgs=editing.saved_orgs,
            by_email=services.ca.emails_applicant,
            offer=offer_for(services, editing.order),
            kept=editing.kept,
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
        reply = Reply()

        def tell(text: str) -> None:
            reply(**keep_open(field_errors(view, {"": text})))

        def run() -> None:
            user_id, order_id = acting_user(body), view_order_id(view)
            try:
                order, application = complete.check_and_save(
                    services,
                    order_id,
                    user_id=user_id,
                    raw=view_values(view),
                    kept_shown=view_kept(view),
                )
            except FieldErrors as exc:
                reply(**keep_open(field_errors(view, exc.errors)))
                return
            confirm = confirm_view(
                order,
                application,
                by_email=services.ca.emails_applicant,
                needs_approval=services.needs_approval(order.product, order.team_id),
                ca_title=services.ca.display_name or services.ca.name,
            )
            reply(response_action="push", view=confirm)

        # Late or failed, the modal stays open with what was typed and a sentence on top.
        late = keep_open(field_errors(view, {"": SLOW_FORM}))
        ack_in_time(ack, reply, lambda: guarded(tell, run, plain=True), **late)

    @app.view_closed(ids.COMPLETE)
    def closed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        ack()

        def save(user_id: str) -> None:
            try:
                complete.save_draft(
                    services, view_order_id(view), user_id=user_id, raw=raw, kept_shown=kept
                )
            except DATABASE_AWAY:
                raise Error(DRAFT_NOT_SAVED) from None
            except Error:
                return  # a stale or someone else's modal: there is nothing of theirs to keep

        # Saved after the ack: nobody waits on a closed modal; only a lost draft is told.
        raw, kept = view_values(view), view_kept(view)
        later(services, body, save)

    @app.view(ids.CONFIRM_SUBMIT)
    def confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reply = Reply()

        def tell(text: str) -> None:
            reply(response_action="update", view=notice_modal("Not submitted", text))

        def run() -> None:
            order = complete.submit(services, view_order_id(view), user_id=acting_user(body))
            reply(response_action="clear")
            if order.state == workflow.State.AWAITING_APPROVAL:
                services.background.submit(approval.ask_approvers, services, order.id)
            else:
                services.background.submit(send_to_ca, services, order.id)

        # The draft is saved already: a late answer loses nothing the person typed.
        late = notice_modal("Not submitted yet", SLOW)
        ack_in_time(ack, reply, lambda: guarded(tell, run), response_action="update", view=late)

    return commands
