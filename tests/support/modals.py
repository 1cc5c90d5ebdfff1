"""A Block Kit modal for driving the emulator directly (its views.open and view_submission)."""

from __future__ import annotations

from typing import Any


def order_modal(*, notify_on_close: bool = False) -> dict[str, Any]:
    """A new-order modal with a domains box and a product select."""
    return {
        "type": "modal",
        "callback_id": "new_order",
        "title": {"type": "plain_text", "text": "New order"},
        "submit": {"type": "plain_text", "text": "Save"},
        "notify_on_close": notify_on_close,
        "blocks": [
            {
                "type": "input",
                "block_id": "domains",
                "label": {"type": "plain_text", "text": "Domains"},
                "element": {"type": "plain_text_input", "action_id": "v", "multiline": True},
            },
            {
                "type": "input",
                "block_id": "product",
                "label": {"type": "plain_text", "text": "Product"},
                "element": {
                    "type": "static_select",
                    "action_id": "v",
                    "initial_option": {"text": {"type": "plain_text", "text": "DV"}, "value": "dv"},
                    "options": [
                        {"text": {"type": "plain_text", "text": t.upper()}, "value": t}
                        for t in ("dv", "ov", "ev")
                    ],
                },
            },
            {
                "type": "input",
                "block_id": "csr",
                "optional": True,
                "label": {"type": "plain_text", "text": "CSR file"},
                "element": {"type": "file_input", "action_id": "v"},
            },
        ],
    }
