"""`/cert list` pages through large stores: every order exactly once in each direction, with
filters by state, domain and whose orders, over signed HTTP."""

from __future__ import annotations

import re

from support.app_fixtures import ADMIN, ALICE, BOB, TEAM, Running

from bot.orders.register import register_order
from bot.products import Purchase
from bot.views import ids
from storage.models import Order, OrderDomain

REF = re.compile(r"CD-\d{4}")


def seed(certdesk: Running, count: int) -> list[str]:
    """``count`` orders, alternately Alice's and Bob's; every third failed, naming a domain."""
    refs = []
    for i in range(count):
        order = register_order(
            certdesk.services,
            team_id=TEAM,
            user_id=ALICE if i % 2 == 0 else BOB,
            purchase=Purchase("dv", "single", 1, 90),
        )
        with certdesk.services.sessions.begin() as session:
            row = session.get(Order, order.id)
            assert row is not None
            row.domains.append(
                OrderDomain(position=0, name=f"host{i}.shop.example.com", display=f"host{i}")
            )
            if i % 3 == 0:
                row.state = "failed"
        refs.append(order.ref)
    return refs


def shown(message_text: str) -> list[str]:
    return REF.findall(message_text.split(":", 1)[1]) if ":" in message_text else []


def test_an_admin_pages_through_every_order_exactly_once_both_ways(certdesk: Running) -> None:
    refs = seed(certdesk, 23)
    first = certdesk.slack.slash_command(ADMIN, "list").json()
    assert first is not None and first["text"].startswith("23 order(s)")
    pages = [shown(first["text"])]
    assert len(pages[0]) == 10 and pages[0][0] == refs[-1]  # newest first
    while True:
        message = certdesk.emulator.ephemerals_to(ADMIN)[-1]
        if ids.LIST_OLDER not in str(message.blocks):
            break
        certdesk.slack.click(ADMIN, ids.LIST_OLDER, message=message)
        pages.append(shown(certdesk.emulator.ephemerals_to(ADMIN)[-1].text))
    seen = [ref for page in pages for ref in page]
    assert sorted(seen) == sorted(refs) and len(seen) == len(set(seen)) == 23
    assert [len(p) for p in pages] == [10, 10, 3]
    # And back to the newest, again each exactly once.
    back: list[str] = []
    message = certdesk.emulator.ephemerals_to(ADMIN)[-1]
    while ids.LIST_NEWER in str(message.blocks):
        certdesk.slack.click(ADMIN, ids.LIST_NEWER, message=message)
        message = certdesk.emulator.ephemerals_to(ADMIN)[-1]
        back += shown(message.text)
    assert sorted(back) == sorted(pages[0] + pages[1])


def test_filters_by_state_domain_and_whose(certdesk: Running) -> None:
    refs = seed(certdesk, 12)
    failed = certdesk.slack.slash_command(ADMIN, "list failed").json()
    assert failed is not None and sorted(shown(failed["text"])) == sorted(refs[0::3])
    by_domain = certdesk.slack.slash_command(ADMIN, "list host4.shop.example.com").json()
    assert by_domain is not None and shown(by_domain["text"]) == [refs[4]]
    parent = certdesk.slack.slash_command(ADMIN, "list shop.example.com").json()
    assert parent is not None and parent["text"].startswith("12 order(s)")
    mine = certdesk.slack.slash_command(ALICE, "list").json()
    assert mine is not None and sorted(shown(mine["text"])) == sorted(refs[0::2])
    admin_mine = certdesk.slack.slash_command(ADMIN, "list mine").json()
    assert admin_mine is not None and "No certificate orders" in admin_mine["text"]
    refused = certdesk.slack.slash_command(ALICE, "list all").json()
    assert refused is not None and "Only certdesk admins" in refused["text"]
    unknown = certdesk.slack.slash_command(ALICE, "list <!channel>").json()
    assert unknown is not None and "does not know" in unknown["text"]
    assert "<!channel>" not in unknown["text"]  # quoted back inert
