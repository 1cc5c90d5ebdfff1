"""The Home tab from bounded reads: headings with capped counts, "more" lines that name a
`/cert list` filter that exists, and Slack's 100 blocks at the largest the use case reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from support.blockkit_limits import problems

from bot import workflow
from bot.list_query import parse_list_query
from bot.orders.home import SHOWN, SHOWN_APPROVALS
from bot.views.home import GROUPS, TITLES, home_view
from storage.home_pages import COUNT_CAP, HOME_GROUPS, GroupCount
from storage.models import Order, OrderDomain, Watcher

S = workflow.State
ME, OTHER = "U0123456789A", "U0OTHER0001"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _order(order_id: int, state: str) -> Order:
    """An order at its wordiest: many names, watchers and a long failure reason."""
    names = [f"app{i:03d}.regional-services.example-corp.com" for i in range(250)]
    order = Order(
        id=order_id,
        team_id="T1",
        requester_id=OTHER,
        product="ev",
        domain_type="multi",
        domain_count=len(names),
        validity_days=200,
        state=state,
        failure_reason="The CA says: " + "CAA forbids issuance. " * 120,
        not_after=NOW + timedelta(days=20),
    )
    order.domains = [OrderDomain(position=i, name=n, display=n) for i, n in enumerate(names)]
    order.watchers = [Watcher(user_id=f"U{i:010d}", added_by=OTHER) for i in range(100)]
    return order


def _texts(view: dict) -> str:
    return "\n".join(re.findall(r"'text': '([^']*)'", str(view["blocks"])))


def test_the_largest_home_the_use_case_reads_fits_slack() -> None:
    """SHOWN orders over every group, each group holding thousands, and approvals waiting."""
    orders = [_order(10_000 - i, HOME_GROUPS[i % 5][1][0]) for i in range(SHOWN)]
    counts = {key: GroupCount(COUNT_CAP, capped=True) for key, _ in HOME_GROUPS}
    approvals = [(f"CD-{i:04d}", i, OTHER, NOW - timedelta(days=3)) for i in range(6)]
    view = home_view(
        orders,
        user_id=ME,
        admin=True,
        approvals=approvals[:SHOWN_APPROVALS],
        approvals_total=40,
        counts=counts,
        now=NOW,
    ).to_dict()
    assert problems(view, surface="home") == []
    assert len(view["blocks"]) <= 100
    shown = [b for b in view["blocks"] if re.fullmatch(r"home_\d+", b.get("block_id", ""))]
    assert len(shown) == SHOWN  # nothing read is dropped
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert "Waiting for your approval (40)" in headers
    for _, _, name, _ in GROUPS:
        assert f"{name} (1,000+)" in headers
    assert _texts(view).count("more — ") == len(GROUPS)
    assert f"Showing {SHOWN} of 5,000+ orders" in _texts(view)


def test_a_group_shown_in_part_says_how_many_more_and_where() -> None:
    failed = [_order(900 - i, S.FAILED) for i in range(3)]
    counts = {
        "needs_you": GroupCount(40),
        "at_ca": GroupCount(12),
        "issued": GroupCount(COUNT_CAP, capped=True),
    }
    view = home_view(failed, user_id=ME, admin=True, counts=counts).to_dict()
    text = _texts(view)
    assert "Needs you (40)" in text and "And 37 more — `/cert list failed`" in text
    # A group none of whose orders were read still says what it holds.
    assert "12 not shown here — `/cert list waiting` lists them all." in text
    assert "Issued (1,000+)" in text and "1,000+ not shown here" in text
    assert "Waiting for approval" not in text and "Ended" not in text  # empty groups


def test_every_list_the_home_points_at_exists() -> None:
    assert [key for key, *_ in GROUPS] == [key for key, _ in HOME_GROUPS] == list(TITLES)
    for _, _, _, hint in GROUPS:
        for words in re.findall(r"`/cert list ?([^`]*)`", hint):
            parse_list_query(words)  # raises ValidationError for a filter that does not exist


def test_without_counts_the_orders_given_are_counted() -> None:
    orders = [_order(5, S.PURCHASED), _order(4, S.ISSUED), _order(3, S.CANCELLED)]
    text = _texts(home_view(orders, user_id=OTHER, admin=False).to_dict())
    assert "Needs you (1)" in text and "Issued (1)" in text and "Ended (1)" in text
    assert "more —" not in text and "Showing" not in text
