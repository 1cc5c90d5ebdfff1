"""Block Kit dicts built without slack_sdk's models are exactly what the models give, and pass
the models' own validation."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, HeaderBlock

from bot import workflow
from bot.views import common, ids
from bot.views.orders import help_reply, list_page
from storage.order_rows import ListedOrder

LONG = "x" * 3100


@pytest.mark.parametrize("text", ["a", "*bold* <@U1> &amp;", LONG])
def test_each_builder_is_its_model(text: str) -> None:
    assert common.section_dict(text) == common.section(text).to_dict()
    assert common.context_dict(text) == common.context(text).to_dict()
    assert common.header_dict(text[:150]) == HeaderBlock(text=common.plain(text[:150])).to_dict()
    assert common.divider_dict() == DividerBlock().to_dict()
    for style in (None, "primary", "danger"):
        made = common.button_dict("Label", "action", "42", style=style)
        assert made == common.button("Label", "action", "42", style=style).to_dict()
    button = common.button_dict("Label", "action", "42")
    assert common.actions_dict([button], block_id="b") == (
        ActionsBlock(block_id="b", elements=[common.button("Label", "action", "42")]).to_dict()
    )


def _validated(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each dict parsed into slack_sdk's model and rendered again (which validates it)."""
    parsed = [Block.parse(block) for block in blocks]
    assert all(block is not None for block in parsed)
    return [block.to_dict() for block in parsed if block is not None]


def _row(order_id: int, state: str, **fields: Any) -> ListedOrder:
    values: dict[str, Any] = {
        "id": order_id,
        "requester_id": "UOWNER",
        "state": state,
        "product": "ov",
        "domain_type": "multi",
        "domain_count": 250,
        "validity_days": 200,
        "purchase_ref": "<!channel> PO-1",
        "failure_reason": "CAA forbids <https://evil|this> " + "y" * 2500,
        "csr_method": "system",
        "key_sealed": True,
        "names": tuple(f"n{i}.example.com" for i in range(5)),
        "names_total": 250,
    }
    values.update(fields)
    return ListedOrder(**values)


def test_a_full_list_page_passes_the_models_validation_unchanged() -> None:
    states = [s.value for s in workflow.State]
    rows = [_row(1000 - i, states[i % len(states)]) for i in range(15)]
    rows.append(_row(5, workflow.State.PURCHASED, names=(), names_total=0, purchase_ref=None))
    for viewer, admin in (("UOWNER", False), ("UADMIN", True), ("UWATCHER", False)):
        text, blocks = list_page(
            rows,
            total=100_000,
            words="all waiting " + "z" * 180 + ".example.com",
            older=1,
            newer=10**9,
            user_id=viewer,
            admin=admin,
            capped=True,
        )
        assert _validated(blocks) == blocks
        assert text.startswith("100,000+ order(s)")
    assert any(b["type"] == "actions" and b.get("block_id") == "list_paging" for b in blocks)
    empty_text, empty = list_page(
        [], total=0, words="", older=None, newer=None, user_id="U", admin=False, capped=False
    )
    assert _validated(empty) == empty and "no certificate orders" in empty_text


def test_help_is_built_once_and_valid() -> None:
    text, blocks = help_reply()
    assert help_reply() is help_reply()  # cached: never rebuilt, never re-validated
    assert _validated(list(blocks)) == list(blocks) and "/cert new" in str(blocks)
    assert ids.COMMAND == "/cert" and text.startswith("certdesk help")
