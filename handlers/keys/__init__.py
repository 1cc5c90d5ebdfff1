"""Private-key buttons and modals: download, delete the file from Slack, purge from certdesk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.errors import Error, FieldErrors
from bot.orders import key_files, keys
from bot.services import Services
from bot.views import ids
from bot.views.keys import (
    download_modal,
    notice_modal,
    order_id_from,
    preparing_modal,
    purge_modal,
)
from handlers.complete import field_errors
from handlers.opening import OrderCommands, open_order_modal
from handlers.replies import (
    dm,
    dm_later,
    guarded,
    incident_id,
    mrkdwn_words,
    something_went_wrong,
)
from handlers.values import view_values
from storage.models import format_ref

logger = logging.getLogger(__name__)


def register(app: App, services: Services) -> OrderCommands:
    """Register the keys listeners."""

    def dm_teller_now(user_id: str) -> Callable[[str], Any]:
        return lambda text: dm(services, user_id, text)

    def later(user_id: str, work: Callable[[], Any]) -> None:
        """Run ``work`` after the ack; its Error messages reach the user as a DM."""
        services.background.submit(guarded, dm_teller_now(user_id), work)

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
        user_id = body["user"]["id"]
        order_id = order_id_from(view)
        try:
            request = keys.request_download(
                services, order_id, user_id=user_id, raw=view_values(view)
            )
        except FieldErrors as exc:
            ack(response_action="errors", errors=field_errors(view, exc.errors))
            return
        except Error as exc:
            ack(response_action="update", view=notice_modal("Key not sent", mrkdwn_words(exc)))
            return
        except Exception:
            incident = incident_id()
            logger.exception("incident %s", incident)
            failed = notice_modal("Key not sent", something_went_wrong(incident))
            ack(response_action="update", view=failed)
            return
        ack(response_action="update", view=preparing_modal(format_ref(order_id)))
        later(user_id, lambda: keys.deliver_key(services, request, user_id=user_id))

    @app.action(ids.DELETE_KEY_FILE)
    def delete_file(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        user_id = body["user"]["id"]

        def run() -> None:
            delivered = key_files.delete_key_file(services, int(action["value"]), user_id=user_id)
            dm(
                services,
                user_id,
                f"Deleted {delivered.filename} (the private key of "
                f"{format_ref(delivered.order_id)}) from Slack.",
            )

        later(user_id, run)

    @app.action(ids.PURGE_KEY)
    def purge(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]

        def run() -> None:
            order = key_files.open_purge(services, int(action["value"]), user_id=user_id)
            client.views_open(trigger_id=body["trigger_id"], view=purge_modal(order))

        guarded(dm_later(services, user_id), run)

    @app.view(ids.CONFIRM_PURGE_KEY)
    def purge_confirmed(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]

        def tell(text: str) -> None:
            ack(response_action="update", view=notice_modal("Key not purged", text))

        def run() -> None:
            order = key_files.purge_key(services, order_id_from(view), user_id=user_id)
            text = (
                f"The private key of {order.ref} is purged from certdesk. Nobody can download "
                "it again: the copy you downloaded is the only one."
            )
            ack(response_action="update", view=notice_modal("Key purged", text))
            services.background.submit(dm, services, user_id, text)

        guarded(tell, run)

    return commands
