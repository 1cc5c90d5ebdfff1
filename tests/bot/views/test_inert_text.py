"""Whatever a person or a CA wrote stays inert in every message, view and Home tab.

Slack reads ``<!channel>``, ``<@U…>``, ``<#C…>`` and ``<url|label>`` as live markup in mrkdwn
and in a message's fallback text. Every view is rendered here with hostile values in every
field a person or a CA supplies; the only live markup allowed is what certdesk puts there on
purpose: mentions of the order's own people and Slack's date formatting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from support.listed import listed
from support.markup import live_markup as find_live

from bot import events
from bot.application_form import Application
from bot.ca.base import Purchase, Validation
from bot.contact import Applicant
from bot.crypto import CertInfo
from bot.domains import Domain
from bot.organization import Organization
from bot.views import complete, home, new_order, orders
from bot.views.common import to_dicts
from bot.views.messages import Messages
from storage.models import Contact, Order, OrderDomain, Watcher

REQUESTER, ACTOR, WATCHER = "UREQUESTER1", "UACTOR0001", "UWATCHER01"
HOSTILE = [
    "<!channel>",
    "reject-<!channel> <https://evil.example|click>",
    "<@UBOSS0001> please",
    "<#CGENERAL1>",
    "<!here|here> & <!everyone>",
    "<mailto:x@evil.example|support>",
    "a&lt;!channel&gt;b",
]
hostile = st.one_of(
    st.sampled_from(HOSTILE),
    st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE), st.text(max_size=20)),
)
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def live_markup(rendered: object) -> list[str]:
    return find_live(rendered, people=(REQUESTER, ACTOR, WATCHER))


def notice_dicts(event: object) -> list[object]:
    notice = Messages().notice(event)
    return [
        {"text": m.text, "blocks": list(m.blocks)}
        for m in (notice.main, notice.watchers, notice.channel)
        if m is not None
    ]


def order_with(value: str) -> Order:
    order = Order(
        id=42,
        team_id="T1",
        requester_id=REQUESTER,
        product="ov",
        domain_type="multi",
        domain_count=2,
        validity_days=90,
        state="failed",
        failure_reason=value,
        csr_method="system",
        purchase_ref=value,
    )
    order.domains = [OrderDomain(position=0, name="example.com", display=value)]
    order.applicant = Contact(name=value, email=value, phone=value)
    order.watchers = [Watcher(user_id=WATCHER, added_by=REQUESTER)]
    return order


def test_the_rule_sees_live_markup_and_passes_certdesks_own() -> None:
    def said(text: str) -> dict:
        return {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }

    assert live_markup(said("hi <!channel>")) == ["<!channel>", "<!channel>"]
    assert live_markup(said("ask <@UBOSS0001>")) == ["<@UBOSS0001>", "<@UBOSS0001>"]
    assert live_markup(said("<https://evil.example|x>"))
    assert live_markup(said(f"<@{REQUESTER}> on <!date^1^{{date}}|x>")) == []
    assert live_markup(said("&lt;!channel&gt;")) == []
    assert live_markup({"type": "plain_text", "text": "<!channel>"}) == []  # shown as typed


@settings(max_examples=60, deadline=None)
@given(value=hostile)
def test_every_event_message_keeps_hostile_text_inert(value: str) -> None:
    info = CertInfo(
        subject=f"CN={value}",
        names=("example.com", value),
        issuer=f"O={value}",
        not_before=T0,
        not_after=T0 + timedelta(days=90),
        sha256_fingerprint="AB:CD",
        serial="01",
        public_key_sha256="00",
    )
    validation = Validation(
        domain=value,
        method="dns-01",
        record_name=value,
        record_type="TXT",
        record_value=value,
    )
    file_check = Validation(domain=value, method="http-01", url=value, content=value)
    everything = [
        events.Submitted(ref="CD-0042", order_id=42, mailbox=value, by_email=True),
        events.Submitted(
            ref="CD-0042",
            order_id=42,
            mailbox=value,
            by_email=False,
            steps=(validation, file_check),
            reviewer_writes_to=value,
            key_made_by=value,
        ),
        events.PassedReview(ref="CD-0042", mailboxes=[value]),
        events.Failed(ref="CD-0042", order_id=42, reason=value),
        events.Issued(ref="CD-0042", order_id=42, info=info, offer_key=True),
        events.KeyDelivered(
            ref="CD-0042", order_id=42, file_row=1, filename=value, delete_after=None, fmt="pfx"
        ),
        events.VerificationReminder(
            ref="CD-0042",
            order_id=42,
            number=1,
            validations=(validation, file_check, Validation(domain=value, method="email")),
            mailbox=value,
            domains=[value],
            email_sender=value,
            email_subject=value,
            window_end=T0,
            can_act=True,
        ),
        events.Escalation(
            ref="CD-0042",
            order_id=42,
            requester=REQUESTER,
            waited=timedelta(hours=3),
            mailboxes=[value],
            with_buttons=True,
        ),
        events.ExpiryReminder(
            ref="CD-0042", order_id=42, days=7, not_after=T0, domains=[value], can_renew=True
        ),
        events.VerificationResent(ref="CD-0042", state="awaiting_verification", mailbox=value),
    ]
    for event in everything:
        assert live_markup(notice_dicts(event)) == [], type(event).__name__


@settings(max_examples=40, deadline=None)
@given(value=hostile)
def test_order_views_and_the_home_tab_keep_hostile_text_inert(value: str) -> None:
    order = order_with(value)
    card = orders.list_card(listed(order), can_act=True, viewer=REQUESTER)
    status = orders.order_status(order, can_act=True, viewer=WATCHER)
    page = orders.list_page(
        [listed(order)],
        total=1,
        words=value,
        older=1,
        newer=3,
        user_id=REQUESTER,
        admin=False,
        capped=False,
    )
    tab = home.home_view([order], user_id=ACTOR, admin=True).to_dict()
    for rendered in (card, status, page):
        blocks = rendered[1] if isinstance(rendered, tuple) else rendered
        text = rendered[0] if isinstance(rendered, tuple) else ""
        rendered_dict = {"text": text or "-", "blocks": to_dicts(blocks)}
        assert live_markup(rendered_dict) == []
    assert live_markup(tab) == []


@settings(max_examples=40, deadline=None)
@given(value=hostile)
def test_the_confirmation_modal_keeps_hostile_text_inert(value: str) -> None:
    application = Application(
        domains=(Domain(ascii="example.com", display=value),),
        applicant=Applicant(name=value, email=value, phone=value),
        organization=Organization(
            legal_name=value,
            country=value,
            state=value,
            city=value,
            street=value,
            postal_code=value,
            phone=value,
        ),
        saved_org_id=None,
        csr_method="system",
        key_algorithm="rsa2048",
        csr_pem=None,
    )
    view = complete.confirm_view(order_with(value), application, by_email=True).to_dict()
    assert live_markup(view) == []
    by_ca = replace(application, csr_method="ca", registration_number=value)
    view = complete.confirm_view(order_with(value), by_ca, by_email=False, ca_title=value)
    assert live_markup(view.to_dict()) == []


@settings(max_examples=40, deadline=None)
@given(value=hostile)
def test_the_purchase_picker_keeps_what_the_ca_wrote_inert(value: str) -> None:
    bought = Purchase(
        ref=value,
        product="dv",
        domain_type=value,
        domain_count=2,
        wildcard_count=1,
        validity_days=365,
        description=value,
    )
    for view in (
        new_order.pick_purchase_modal([bought], ca_name=value),
        new_order.no_purchases_modal(ca_name=value, buy_url=value),
    ):
        assert live_markup(view.to_dict()) == []
