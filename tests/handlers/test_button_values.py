"""What an approval button's value may carry: an order, and the digest of what it showed."""

from __future__ import annotations

import json

import pytest

from bot.errors import NotFound
from handlers.values import order_and_seen, view_seen

DIGEST = "0123456789abcdef"


def test_an_order_alone_or_with_the_digest_its_message_showed() -> None:
    assert order_and_seen("42") == (42, None)
    assert order_and_seen(f"42:{DIGEST}") == (42, DIGEST)
    assert order_and_seen("42:") == (42, None)  # an empty digest is no digest


@pytest.mark.parametrize(
    "value",
    ["", "42:xyz", f"42:{DIGEST}0", f"42:{DIGEST.upper()}", f"x:{DIGEST}", None, 42,
     "<!channel>", "42:" + "\x00" * 16],
)  # fmt: skip
def test_anything_else_names_no_order(value: object) -> None:
    with pytest.raises(NotFound, match="does not name an order"):
        order_and_seen(value)


def test_a_reason_modal_remembers_the_digest_only_when_it_is_one() -> None:
    assert view_seen({"private_metadata": json.dumps({"order_id": 1, "seen": DIGEST})}) == DIGEST
    for metadata in ('{"order_id": 1}', '{"seen": 5}', "not json", '{"seen": "short"}'):
        assert view_seen({"private_metadata": metadata}) is None
