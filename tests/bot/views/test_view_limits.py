"""Every message, modal and Home tab within Block Kit's limits, rendered at its largest.

The largest order certdesk sells: 250 names of the longest length a name may have (253
characters), a hundred watchers, a CA failure reason of a few thousand characters, and a
workspace with many saved organizations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, PlainTextObject, SectionBlock
from slack_sdk.models.views import View
from support.blockkit_limits import Surface, problems
from support.listed import listed

from bot import events, workflow
from bot.application_form import Application, fit_in_box
from bot.ca.base import Validation
from bot.contact import Applicant
from bot.domains import Domain, Listed, parse_domain
from bot.orders.revocation import REASONS
from bot.products import MAX_DOMAINS
from bot.views import ids
from bot.views.approvals import request_blocks, waiting_list
from bot.views.cancel import cancel_modal
from bot.views.complete import CAOffer, complete_modal, confirm_view
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
from storage.models import Contact, Order, OrderDomain, Organization, Watcher

S = workflow.State
OWNER = "U0123456789A"
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
#: The largest order sold: 250 names of 253 characters each (four labels of 63 and "com").
NAMES = [
    f"host{i:03d}".ljust(63, "a") + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"
    for i in range(MAX_DOMAINS)
]
#: Internationalized names: shown as typed and "sent as" their A-labels, twice the text.
IDN_NAMES = [
    parse_domain(f"bücher-straße-{i:03d}.".ljust(50, "ü") + "." + "c" * 63 + ".example.com",
                 allow_wildcard=False)
    for i in range(MAX_DOMAINS)
]  # fmt: skip
#: What a CA may say when it turns an order down (CAs paste whole policy paragraphs).
LONG_REASON = (
    "Organization validation failed: the legal name given does not match the official "
    "register entry, and the CAA record of one or more domains names another CA. "
) * 20  # ~3,000 characters
#: A CA name as long as an operator might configure it.
LONG_CA = CAOffer(
    ca_title="Example Trust Services Certification Authority", generates_keys=True,
    key_algorithms=None, registration_number=True,
)  # fmt: skip

Built = tuple[Any, Surface, str | None]


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
    order.applicant = Contact(name="A" * 128, email="applicant@example.com", phone="+4420794609")
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


def _application(names: list[Domain]) -> Application:
    return Application(
        domains=tuple(names),
        applicant=Applicant(name="A" * 128, email="applicant@example.com", phone="+442079460958"),
        organization=organizations(1)[0],
        saved_org_id=None,
        csr_method="ca",
        key_algorithm="rsa4096",
        csr_pem=None,
        registration_number="R" * 64,
    )


def _complete(values: dict[str, Any], kept: Listed | None) -> Built:
    """The Complete modal as the use case prefills it: what does not fit the box is kept."""
    fitted, kept = fit_in_box(values, kept)
    view = complete_modal(
        largest_order(S.FAILED), fitted, saved_orgs=organizations(), offer=LONG_CA, kept=kept
    )
    return _modal(view)


def _approval_asked() -> events.ApprovalAsked:
    """An approver's request for the largest application: every field at its longest."""
    return events.ApprovalAsked(
        ref="CD-4242",
        order_id=4242,
        requester=OWNER,
        application=events.Application(
            product="ev",
            domains=NAMES,
            applicant_name="A" * 128,
            applicant_email="applicant@example.com",
            applicant_phone="+442079460958",
            organization=organizations(1)[0].details(),
            csr_method="system",
            key_algorithm="rsa4096",
            digest="f" * 64,
        ),
    )


#: Approvals waiting for one approver: (ref, order id, requester, asked at).
WAITING = [(f"CD-{i:06d}", i, OWNER, NOW - timedelta(days=i)) for i in range(100)]


def _reminder(validations: list[Validation]) -> Built:
    return _message(
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
                validations=validations,
            )
        )
    )


def _listed(found: list[Order]) -> Built:
    """`/cert list` at its largest: a full page, a long filter, both paging buttons."""
    return _message(
        list_page(
            [listed(order) for order in found],
            total=100_000,
            words="all waiting " + "x" * 180 + ".example.com",
            older=1,
            newer=10**9,
            user_id=OWNER,
            admin=True,
            capped=True,
        )
    )


def _mixed_orders(count: int) -> list[Order]:
    states = [S.PURCHASED, S.FAILED, S.SUBMITTED, S.AWAITING_VERIFICATION, S.ISSUED, S.EXPIRED]
    return [largest_order(states[i % len(states)], order_id=1000 + i) for i in range(count)]


def _message(built: tuple[str, list[Any]]) -> Built:
    text, blocks = built
    return blocks, "message", text


def _modal(view: View) -> Built:
    return view, "modal", None


def _home(view: View) -> Built:
    return view, "home", None


KEY_FILE = "CD-4242-" + "k" * 200 + ".p12"
#: Each view at its largest: name -> builder returning (payload, surface, top-level text).
CASES: dict[str, Callable[[], Built]] = {
    "help": lambda: _message(help_message()),
    "registered": lambda: _message(registered_message("CD-9999", 9999, largest_order(S.PURCHASED))),
    "list, 25 issued orders": lambda: _listed([largest_order(S.ISSUED, i) for i in range(25)]),
    "list, 25 orders with long failure reasons": lambda: _listed(_mixed_orders(25)),
    "status, issued, 250 names, 100 watchers": lambda: _message(
        order_status(largest_order(S.ISSUED), can_act=True, viewer=OWNER)
    ),
    "status, failed with a long reason": lambda: _message(
        order_status(largest_order(S.FAILED), can_act=True, viewer=OWNER)
    ),
    "verification reminder, 250 dns-01 records": lambda: _reminder(
        [
            Validation(
                domain=n,
                method="dns-01",
                record_name=f"_acme-challenge.{n}",
                record_type="TXT",
                record_value="v" * 43,
            )
            for n in NAMES
        ]
    ),
    "verification reminder, 250 mailboxes": lambda: _reminder(
        [Validation(domain=n, method="email", mailbox=f"admin@{n}") for n in NAMES]
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
            file_row=77,
            filename=KEY_FILE,
            delete_after=NOW,
            fmt="pkcs12",
        )
    ),
    "approval request, 250 names": lambda: (
        request_blocks(_approval_asked()),
        "message",
        "CD-4242 needs your approval",
    ),
    "approvals, 100 waiting": lambda: _message(waiting_list(WAITING, now=NOW)),
    "new order modal": lambda: _modal(new_order_modal()),
    "complete modal, 150 saved organizations": lambda: _complete({}, None),
    "complete modal, 250 names as saved on the order": lambda: _complete(
        {ids.DOMAINS: "\n".join(NAMES), ids.CSR_TEXT: "C" * 10_000}, None
    ),
    "complete modal, a full box typed and 250 names kept from a file": lambda: _complete(
        {ids.DOMAINS: "\n".join(NAMES[:11]), ids.APPLICANT_NAME: "A" * 9_000},
        Listed(label="n" * 80 + ".csv", entries=tuple(enumerate(NAMES, start=2))),
    ),
    "confirm modal, 250 names": lambda: _modal(
        confirm_view(
            largest_order(S.PURCHASED),
            _application([Domain(ascii=n, display=n) for n in NAMES]),
            needs_approval=True,
            ca_title=LONG_CA.ca_title,
        )
    ),
    "confirm modal, 250 internationalized names": lambda: _modal(
        confirm_view(largest_order(S.PURCHASED), _application(IDN_NAMES))
    ),
    "watchers modal, 100 watchers": lambda: _modal(watchers_modal(largest_order())),
    "cancel modal": lambda: _modal(cancel_modal(largest_order(S.AWAITING_VERIFICATION))),
    "revoke modal": lambda: _modal(
        revoke_modal(largest_order(S.ISSUED), reasons={k: v[1] for k, v in REASONS.items()})
    ),
    "download modal": lambda: _modal(download_modal(largest_order(S.ISSUED))),
    "purge modal": lambda: _modal(purge_modal(largest_order(S.ISSUED))),
    "notice modal": lambda: _modal(notice_modal("Preparing your key", "x" * 2900)),
    "preparing modal": lambda: _modal(preparing_modal("CD-424242")),
    "home, 60 issued orders (admin)": lambda: _home(
        home_view([largest_order(S.ISSUED, i) for i in range(60)], user_id=OWNER, admin=True)
    ),
    "home, 60 orders with long failure reasons (admin)": lambda: _home(
        home_view(_mixed_orders(60), user_id=OWNER, admin=True)
    ),
    "home, 60 orders and 100 approvals waiting": lambda: _home(
        home_view(_mixed_orders(60), user_id=OWNER, admin=True, approvals=WAITING, now=NOW)
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_views_at_their_largest_stay_within_block_kit_limits(name: str) -> None:
    payload, surface, text = CASES[name]()
    assert problems(payload, surface=surface, text=text) == []


def test_the_largest_names_are_as_long_as_a_name_may_be() -> None:
    assert {len(n) for n in NAMES} == {253}
    assert all(parse_domain(n, allow_wildcard=False).ascii == n for n in NAMES[:3])
    assert {d.ascii != d.display for d in IDN_NAMES} == {True}


def test_a_large_order_keeps_its_names_aside_and_the_confirmation_shows_every_one() -> None:
    view, _, _ = _complete({ids.DOMAINS: "\n".join(NAMES)}, None)
    shown = view.to_dict()
    box = next(b for b in shown["blocks"] if b.get("block_id") == ids.DOMAINS)
    assert "initial_value" not in box["element"]  # not prefilled: kept, and said so
    assert f"{len(NAMES)} names from the saved list are kept" in str(shown)
    assert '"kept"' in shown["private_metadata"]
    confirm = confirm_view(
        largest_order(S.PURCHASED), _application([Domain(ascii=n, display=n) for n in NAMES])
    ).to_dict()
    listed = "\n".join(b["text"]["text"] for b in confirm["blocks"] if b["type"] == "section")
    assert all(f"`{n}`" in listed for n in NAMES)  # spread over sections, none cut


def test_the_approval_request_for_250_names_still_shows_who_applies_and_asks() -> None:
    shown = str([b.to_dict() for b in request_blocks(_approval_asked())])
    assert "*Applicant:*" in shown and "*Organization:*" in shown
    assert f"*Requested by:* <@{OWNER}>" in shown
    assert "more" in shown  # the names it has no room for are counted, not cut


# The checker itself: each limit is caught, so a pass above means something.
def test_the_checker_catches_each_limit() -> None:
    too_many = [SectionBlock(text="x")] * 51
    assert problems(too_many, surface="message", text="t") == ["message: 51 blocks (max 50)"]
    assert problems(too_many, surface="modal") == []  # 100 in a modal
    assert problems([SectionBlock(text="x")], surface="message", text=None) == [
        "message: no top-level text (notifications and screen readers use it)"
    ]
    assert problems([SectionBlock(text="x")], surface="message", text="t" * 40_001) == [
        "message text: 40001 characters (max 40000)"
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
    option = {"type": "static_select", "options": [{"text": {"text": "o" * 76}, "value": "v"}]}
    assert "option text 76" in problems([option], surface="modal")[0]
