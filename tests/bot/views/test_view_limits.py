"""Every message, modal and Home tab within Block Kit's limits, rendered at its largest.

The largest order certdesk sells: 250 names, a hundred watchers, a CA failure reason of a
few thousand characters, and a workspace with many saved organizations. Views that break a
limit today are marked xfail(strict=True) with what breaks, so fixing one shows up here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject, SectionBlock
from slack_sdk.models.views import View
from support.blockkit_limits import Surface, problems

from bot import events, workflow
from bot.application_form import Application
from bot.ca.base import Validation
from bot.contact import Applicant
from bot.domains import Domain
from bot.orders.revocation import REASONS
from bot.views import ids
from bot.views.cancel import cancel_modal
from bot.views.complete import complete_modal, confirm_view
from bot.views.home import home_view
from bot.views.keys import (
    download_modal,
    key_delivered_message,
    notice_modal,
    preparing_modal,
    purge_modal,
)
from bot.views.new_order import new_order_modal
from bot.views.orders import help_message, list_page, order_status, registered_message
from bot.views.revocation import revoke_modal
from bot.views.verification import escalation, expiry_reminder, out_of_date, verification_reminder
from bot.views.watchers import watchers_modal
from storage.models import Contact, DeliveredFile, Order, OrderDomain, Organization, Watcher
from storage.order_rows import from_order

S = workflow.State
OWNER = "U0123456789A"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
#: 250 names of 41 characters, over 10,000 in all: the size of the largest order sold.
NAMES = [f"app{i:03d}.regional-services.example-corp.com" for i in range(250)]
#: What a CA may say when it turns an order down (CAs paste whole policy paragraphs).
LONG_REASON = (
    "Organization validation failed: the legal name given does not match the official "
    "register entry, and the CAA record of one or more domains names another CA. "
) * 20  # ~3,000 characters


def largest_order(state: str = S.FAILED, order_id: int = 4242) -> Order:
    """An order at its largest: 250 names, 100 watchers, a long failure reason."""
    order = Order(
        id=order_id,
        team_id="T1",
        requester_id=OWNER,
        product="ev",
        domain_type="multi",
        domain_count=len(NAMES),
        validity_days=200,
        state=state,
        csr_method="system",
        key_algorithm="rsa4096",
        ca_ref="ca-" + "x" * 500,
        failure_reason=LONG_REASON,
        not_after=NOW + timedelta(days=200),
    )
    order.domains = [OrderDomain(position=i, name=n, display=n) for i, n in enumerate(NAMES)]
    order.watchers = [Watcher(user_id=f"U{i:011d}", added_by=OWNER) for i in range(100)]
    order.applicant = Contact(name="A" * 128, email="applicant@" + NAMES[0], phone="+4420794609")
    return order


def organizations(count: int = 150) -> list[Organization]:
    """Saved organizations with the longest legal names the form allows (64)."""
    return [
        Organization(
            id=i,
            team_id="T1",
            created_by=OWNER,
            legal_name=f"{i:03d} " + "L" * 60,
            country="GB",
            state="S" * 128,
            city="C" * 128,
            street="R" * 128,
            postal_code="P" * 40,
            phone="+442079460958",
        )
        for i in range(count)
    ]


def _application() -> Application:
    org = organizations(1)[0]
    return Application(
        domains=tuple(Domain(ascii=n, display=n) for n in NAMES),
        applicant=Applicant(name="A" * 128, email="applicant@" + NAMES[0], phone="+442079460958"),
        organization=org,
        saved_org_id=None,
        csr_method="system",
        key_algorithm="rsa4096",
        csr_pem=None,
    )


def _delivered() -> DeliveredFile:
    return DeliveredFile(
        id=77,
        order_id=4242,
        user_id=OWNER,
        channel_id="D0123",
        slack_file_id="F0123",
        kind="key",
        filename="CD-4242-" + "k" * 200 + ".p12",
        delete_after=NOW,
    )


def _mixed_orders(count: int) -> list[Order]:
    states = [S.PURCHASED, S.FAILED, S.SUBMITTED, S.AWAITING_VERIFICATION, S.ISSUED, S.EXPIRED]
    return [largest_order(states[i % len(states)], order_id=1000 + i) for i in range(count)]


Built = tuple[Any, Surface, str | None]
#: Each view at its largest: name -> builder returning (payload, surface, top-level text).
CASES: dict[str, Callable[[], Built]] = {
    "help": lambda: (help_message()[1], "message", help_message()[0]),
    "registered": lambda: _message(registered_message(largest_order(S.PURCHASED))),
    "list, 25 issued orders": lambda: _message(
        _listed([largest_order(S.ISSUED, i) for i in range(25)])
    ),
    "list, 25 orders with long failure reasons": lambda: _message(_listed(_mixed_orders(25))),
    "status, issued, 250 names, 100 watchers": lambda: _message(
        order_status(largest_order(S.ISSUED), can_act=True, viewer=OWNER)
    ),
    "status, failed with a long reason": lambda: _message(
        order_status(largest_order(S.FAILED), can_act=True, viewer=OWNER)
    ),
    "verification reminder, 250 dns-01 records": lambda: _message(
        verification_reminder(
            events.VerificationReminder(
                ref="CD-4242",
                order_id=4242,
                number=3,
                mailbox=None,
                domains=NAMES,
                email_sender=None,
                email_subject=None,
                window_end=NOW,
                can_act=True,
                validations=[
                    Validation(
                        domain=n,
                        method="dns-01",
                        record_name=f"_acme-challenge.{n}",
                        record_type="TXT",
                        record_value="v" * 43,
                    )
                    for n in NAMES
                ],
            )
        )
    ),
    "verification reminder, 250 mailboxes": lambda: _message(
        verification_reminder(
            events.VerificationReminder(
                ref="CD-4242",
                order_id=4242,
                number=3,
                mailbox=None,
                domains=NAMES,
                email_sender=None,
                email_subject=None,
                window_end=NOW,
                can_act=True,
                validations=[
                    Validation(domain=n, method="email", mailbox=f"admin@{n}") for n in NAMES
                ],
            )
        )
    ),
    "escalation, 250 mailboxes": lambda: _message(
        escalation(
            events.Escalation(
                ref="CD-4242",
                order_id=4242,
                requester=OWNER,
                waited=timedelta(days=6),
                mailboxes=[f"admin@{n}" for n in NAMES],
                with_buttons=True,
            )
        )
    ),
    "expiry reminder, 250 names": lambda: _message(
        expiry_reminder(
            events.ExpiryReminder(
                ref="CD-4242", order_id=4242, days=7, not_after=NOW, domains=NAMES, can_renew=True
            )
        )
    ),
    "out of date": lambda: _message(out_of_date("CD-4242", "issued")),
    "key delivered": lambda: _message(
        key_delivered_message(
            ref="CD-4242",
            order_id=4242,
            file_row=_delivered().id,
            filename=_delivered().filename,
            delete_after=NOW,
            fmt="pkcs12",
        )
    ),
    "new order modal": lambda: (new_order_modal(), "modal", None),
    "complete modal, 150 saved organizations": lambda: (
        complete_modal(largest_order(S.PURCHASED), {}, saved_orgs=organizations()),
        "modal",
        None,
    ),
    "complete modal, 250 names prefilled": lambda: (
        complete_modal(
            largest_order(S.FAILED), {ids.DOMAINS: "\n".join(NAMES)}, saved_orgs=organizations()
        ),
        "modal",
        None,
    ),
    "confirm modal, 250 names": lambda: (
        confirm_view(largest_order(S.PURCHASED), _application()),
        "modal",
        None,
    ),
    "watchers modal, 100 watchers": lambda: (watchers_modal(largest_order()), "modal", None),
    "cancel modal": lambda: (cancel_modal(largest_order(S.AWAITING_VERIFICATION)), "modal", None),
    "revoke modal": lambda: (
        revoke_modal(largest_order(S.ISSUED), reasons={k: v[1] for k, v in REASONS.items()}),
        "modal",
        None,
    ),
    "download modal": lambda: (download_modal(largest_order(S.ISSUED)), "modal", None),
    "purge modal": lambda: (purge_modal(largest_order(S.ISSUED)), "modal", None),
    "notice and preparing modals": lambda: (
        notice_modal("Preparing your key", "x" * 2900),
        "modal",
        None,
    ),
    "preparing modal": lambda: (preparing_modal("CD-424242"), "modal", None),
    "home, 60 issued orders (admin)": lambda: (
        home_view([largest_order(S.ISSUED, i) for i in range(60)], user_id=OWNER, admin=True),
        "home",
        None,
    ),
    "home, 60 orders with long failure reasons (admin)": lambda: (
        home_view(_mixed_orders(60), user_id=OWNER, admin=True),
        "home",
        None,
    ),
}

#: Views that break a limit today, and what breaks (the views' owner fixes them).
BREAKS = {
    "complete modal, 250 names prefilled": "the Domains box is prefilled with over "
    "10,000 characters; a plain_text_input holds at most 3,000, so Slack refuses the modal",
}


def _listed(found: list[Any]) -> tuple[str, list[Any]]:
    """`/cert list` at its largest: a full page, a long filter, both paging buttons."""
    return list_page(
        [from_order(order) for order in found],
        total=100_000,
        words="all waiting " + "x" * 180 + ".example.com",
        older=1,
        newer=10**9,
        user_id=OWNER,
        admin=True,
        capped=True,
    )


def _message(built: tuple[str, list[Any]]) -> Built:
    text, blocks = built
    return blocks, "message", text


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=BREAKS[n]))
        if n in BREAKS
        else n
        for n in CASES
    ],
)
def test_views_at_their_largest_stay_within_block_kit_limits(name: str) -> None:
    payload, surface, text = CASES[name]()
    assert problems(payload, surface=surface, text=text) == []


# The checker itself: each limit is caught, so a pass above means something.
def test_the_checker_catches_each_limit() -> None:
    too_many = [SectionBlock(text="x")] * 51
    assert problems(too_many, surface="message", text="t") == ["message: 51 blocks (max 50)"]
    assert problems(too_many, surface="modal") == []  # 100 in a modal
    assert problems([SectionBlock(text="x")], surface="message", text=None) == [
        "message: no top-level text (notifications and screen readers use it)"
    ]
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    assert "section text 3001" in problems(long_section, surface="message", text="t")[0]
    button = ActionsBlock(elements=[ButtonElement(text=PlainTextObject(text="b"), action_id="a")])
    as_dict = button.to_dict()
    as_dict["elements"][0]["text"]["text"] = "b" * 76
    assert "button text 76" in problems([as_dict], surface="message", text="t")[0]
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "t" * 25},
        "private_metadata": "m" * 3001,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    assert problems(view, surface="modal") == [
        "modal title: 25 characters (max 24)",
        "private_metadata: 3001 characters (max 3000)",
    ]
    big = View(type="home", blocks=[SectionBlock(text="x" * 2900)] * 90)
    assert problems(big, surface="home")[0].startswith("home: ")
    prefilled = {
        "type": "input",
        "label": {"type": "plain_text", "text": "l"},
        "element": {"type": "plain_text_input", "action_id": "a", "initial_value": "v" * 3001},
    }
    assert "prefilled value 3001" in problems([prefilled], surface="modal")[0]
