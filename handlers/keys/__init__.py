"""Private-key buttons and modals: download, delete the file from Slack, purge from certdesk."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import FieldErrors
from bot.orders import key_files, keys
from bot.services import Services
from bot.views import ids
from bot.views.keys import (
    download_modal,
    notice_modal,
    preparing_modal,
    purge_modal,
)
from handlers.complete import field_errors
from handlers.opening import OrderCommands, open_order_modal
from handlers.replies import (
    SLOW,
    SLOW_FORM,
    Reply,
    ack_in_time,
    after_ack,
    dm,
    guarded,
    keep_open,
    later,
    open_modal,
)
from handlers.values import order_id as button_order
from handlers.values import user_id as acting_user
from handlers.values import view_order_id, view_values
from storage.models import format_ref


def register(app: App, services: Services) -> OrderCommands:
    """Register the keys listeners."""

    commands = open_order_modal(
        app,
        services,
        build=lambda order_id, user_id: download_modal(
            keys.open_download(services, order_id, user_id=user_id)
        ),
        action_ids=(ids.DOWNLOAD_KEY,),
    )

    @app.view(ids.KEY_DOWNLOAD)
    def download_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reply = Reply()

        def tell(text: str) -> None:
            reply(response_action="update", view=notice_modal("Key not sent", text))

        def run() -> None:
            user_id, order_id = acting_user(body), view_order_id(view)
            try:
                request = keys.request_download(
                    services, order_id, user_id=user_id, raw=view_values(view)
                )
            except FieldErrors as exc:
                reply(**keep_open(field_errors(view, exc.errors)))
                return
            reply(response_action="update", view=preparing_modal(format_ref(order_id)))
            after_ack(
                services, user_id, lambda: keys.deliver_key(services, request, user_id=user_id)
            )

        # Late: the modal stays open with the choices made (a passphrase is typed again anyway).
        late = keep_open(field_errors(view, {"": SLOW_FORM}))
        ack_in_time(ack, reply, lambda: guarded(tell, run), **late)

    @app.action(ids.DELETE_KEY_FILE)
    def delete_file(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()

        def run(user_id: str) -> None:
            order_id = button_order(action.get("value"))
            delivered = key_files.delete_key_file(services, order_id, user_id=user_id)
            dm(
                services,
                user_id,
                f"Deleted {delivered.filename} (the private key of "
                f"{format_ref(delivered.order_id)}) from Slack.",
            )

        later(services, body, run)

    @app.action(ids.PURGE_KEY)
    def purge(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()

        def run(user_id: str) -> None:
            order = key_files.open_purge(
                services, button_order(action.get("value")), user_id=user_id
            )
            open_modal(client, body.get("trigger_id"), purge_modal(order))

        later(services, body, run)

    @app.view(ids.CONFIRM_PURGE_KEY)
    def purge_confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reply = Reply()

        def tell(text: str) -> None:
            reply(response_action="update", view=notice_modal("Key not purged", text))

        def run() -> None:
            user_id = acting_user(body)
            order = key_files.purge_key(services, view_order_id(view), user_id=user_id)
            text = (
                f"The private key of {order.ref} is purged from certdesk. Nobody can download "
                "it again: the copy you downloaded is the only one."
            )
            reply(response_action="update", view=notice_modal("Key purged", text))
            services.background.submit(dm, services, user_id, text)

        late = notice_modal("Key not purged", SLOW)
        ack_in_time(ack, reply, lambda: guarded(tell, run), response_action="update", view=late)

    return commands
