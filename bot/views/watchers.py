"""The modal where an order's owner (or an admin) chooses who watches it."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import InputBlock, UserMultiSelectElement
from slack_sdk.models.views import View

from bot.views import ids
from bot.views.common import context, plain, section
from storage.models import Order


def watchers_modal(order: Order) -> View:
    """Pick the order's watchers; the current ones are preselected, so removing is unticking."""
    current = [w.user_id for w in order.watchers]
    return View(
        type="modal",
        callback_id=ids.ADD_WATCHER,
        private_metadata=json.dumps({"order_id": order.id}),
        title=plain(f"Watchers of {order.ref}"),
        submit=plain("Save"),
        close=plain("Cancel"),
        blocks=[
            section(
                f"Watchers follow *{order.ref}*: they see it in `/cert list`, `/cert status` and "
                "their Home tab, and get its updates by DM. They cannot change it."
            ),
            InputBlock(
                block_id=ids.WATCHER_USERS,
                label=plain("Watchers"),
                optional=True,
                hint=plain("Remove someone by taking them out of the list."),
                element=UserMultiSelectElement(
                    action_id=ids.WATCHER_USERS,
                    placeholder=plain("Choose people"),
                    initial_users=current or None,
                ),
            ),
            context(f"Owner: <@{order.requester_id}>. Each new watcher gets a DM saying so."),
        ],
    )
