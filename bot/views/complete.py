"""The "Complete information" modal and the confirmation that lists what goes to the CA."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot import crypto
from bot.application_form import CSR_METHODS, DEFAULT_KEY_ALGORITHM, Application
from bot.csr_method import CSRMethod, certdesk_makes_key
from bot.products import needs_organization
from bot.views import ids
from bot.views.common import context, esc, option_for, options, plain, purchase_words, section
from storage.models import Order, Organization


def metadata(order_id: int) -> str:
    """private_metadata naming the order a modal belongs to."""
    return json.dumps({"order_id": order_id})


def order_id_from(view: Mapping[str, Any]) -> int:
    """The order a submitted modal belongs to (from its private_metadata)."""
    return int(json.loads(view.get("private_metadata") or "{}")["order_id"])


def _text_input(
    block_id: str,
    label: str,
    values: Mapping[str, Any],
    *,
    hint: str | None = None,
    multiline: bool = False,
    optional: bool = False,
    placeholder: str | None = None,
    max_length: int | None = None,
) -> InputBlock:
    initial = values.get(block_id)
    return InputBlock(
        block_id=block_id,
        label=plain(label),
        hint=plain(hint) if hint else None,
        optional=optional,
        element=PlainTextInputElement(
            action_id=block_id,
            multiline=multiline,
            initial_value=initial if isinstance(initial, str) and initial else None,
            placeholder=plain(placeholder) if placeholder else None,
            max_length=max_length,
        ),
    )


def complete_modal(
    order: Order,
    values: Mapping[str, Any],
    *,
    saved_orgs: Sequence[Organization],
    by_email: bool = True,
) -> View:
    """Ask for domains, applicant, organization (OV/EV) and the CSR method, prefilled."""
    count = order.domain_count
    blocks: list[Block] = [
        context(f"*{order.ref}* · {purchase_words(order)}"),
        _text_input(
            ids.DOMAINS,
            "Domains" if count == 1 else f"Domains ({count}, one per line)",
            values,
            multiline=count > 1,
            placeholder="www.example.com" if count == 1 else "example.com\nwww.example.com",
            hint=_domain_hint(order),
        ),
        HeaderBlock(text=plain("Applicant")),
        context(
            ":email: The CA sends its verification email to the *applicant email*. "
            "After you submit, watch that mailbox: the order stays under review until "
            "someone follows the link in it."
            if by_email
            else "The applicant is the CA's contact for this order. Domain control is proved "
            "with DNS records or files, which certdesk shows you after you submit."
        ),
        _text_input(ids.APPLICANT_NAME, "Applicant name", values),
        _text_input(
            ids.APPLICANT_EMAIL, "Applicant email", values, placeholder="admin@example.com"
        ),
        _text_input(
            ids.APPLICANT_PHONE,
            "Applicant phone",
            values,
            placeholder="+44 20 7946 0958",
            hint="International form: + and the country code.",
        ),
    ]
    if needs_organization(order.product):
        blocks += _organization_blocks(values, saved_orgs)
    blocks += _csr_blocks(values)
    return View(
        type="modal",
        callback_id=ids.COMPLETE,
        private_metadata=metadata(order.id),
        title=plain(f"Complete {order.ref}"),
        submit=plain("Review"),
        close=plain("Close"),
        blocks=blocks,
    )


def _domain_hint(order: Order) -> str:
    if order.domain_type == "wildcard":
        return "A wildcard covers one level, like *.example.com. Names in any script are fine."
    return f"Exactly {order.domain_count} as bought. Names in any script are fine."


def _organization_blocks(
    values: Mapping[str, Any], saved_orgs: Sequence[Organization]
) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text=plain("Organization")),
        context(
            "The CA checks these against official registers: use the *legal name* and "
            "the two-letter country code (GB, not UK)."
        ),
    ]
    if saved_orgs:
        choices = {o.id: f"{o.legal_name} ({o.country})"[:75] for o in saved_orgs[:100]}
        blocks.append(
            InputBlock(
                block_id=ids.SAVED_ORG,
                label=plain("Saved organization"),
                optional=True,
                hint=plain("Pick one to reuse it, and leave the fields below empty."),
                element=StaticSelectElement(
                    action_id=ids.SAVED_ORG,
                    placeholder=plain("Choose a saved organization"),
                    options=options(choices),
                    initial_option=option_for(choices, values.get(ids.SAVED_ORG)),
                ),
            )
        )
    optional = bool(saved_orgs)
    fields = [
        (ids.ORG_LEGAL_NAME, "Legal name"),
        (ids.ORG_COUNTRY, "Country (two-letter code)"),
        (ids.ORG_STATE, "State or province"),
        (ids.ORG_CITY, "City"),
        (ids.ORG_STREET, "Street address"),
        (ids.ORG_POSTAL_CODE, "Postal code"),
        (ids.ORG_PHONE, "Organization phone"),
    ]
    blocks += [_text_input(b, label, values, optional=optional) for b, label in fields]
    return blocks


def _csr_blocks(values: Mapping[str, Any]) -> list[Block]:
    return [
        HeaderBlock(text=plain("CSR and private key")),
        InputBlock(
            block_id=ids.CSR_METHOD,
            label=plain("How is the CSR made?"),
            element=RadioButtonsElement(
                action_id=ids.CSR_METHOD,
                options=options(CSR_METHODS),
                initial_option=option_for(
                    CSR_METHODS, values.get(ids.CSR_METHOD) or CSRMethod.GENERATED
                ),
            ),
        ),
        InputBlock(
            block_id=ids.KEY_ALGORITHM,
            label=plain("Key algorithm"),
            optional=True,
            hint=plain("For a CSR made by certdesk. RSA 2048 works everywhere."),
            element=StaticSelectElement(
                action_id=ids.KEY_ALGORITHM,
                options=options(crypto.KEY_ALGORITHMS),
                initial_option=option_for(
                    crypto.KEY_ALGORITHMS, values.get(ids.KEY_ALGORITHM) or DEFAULT_KEY_ALGORITHM
                ),
            ),
        ),
        _text_input(
            ids.CSR_TEXT,
            "Your CSR (PEM)",
            # A CSR longer than the box holds came as a file; it cannot be shown again here.
            {k: v for k, v in values.items() if k != ids.CSR_TEXT or len(v or "") <= 3000},
            multiline=True,
            optional=True,
            max_length=3000,
            hint="Only when you upload your own. Its names must be exactly the domains above; "
            "some CAs bind the certificate to the CSR's common name. Your key stays with you.",
            placeholder="-----BEGIN CERTIFICATE REQUEST-----",
        ),
        InputBlock(
            block_id=ids.CSR_FILE,
            label=plain("…or your CSR as a file"),
            optional=True,
            hint=plain("A .csr, .pem or .der file (PEM or DER), instead of pasting it above."),
            element=FileInputElement(
                action_id=ids.CSR_FILE, filetypes=["csr", "pem", "der", "txt"], max_files=1
            ),
        ),
    ]


def confirm_view(
    order: Order, application: Application, *, by_email: bool = True, needs_approval: bool = False
) -> View:
    """Everything that will go to the CA, for a last look before submitting."""
    names = "\n".join(
        f"• `{esc(d.display)}`" + (f" (sent as `{esc(d.ascii)}`)" if d.display != d.ascii else "")
        for d in application.domains
    )
    applicant = application.applicant
    lines = [
        f"*Applicant:* {esc(applicant.name)}, {esc(applicant.email)}, {esc(applicant.phone)}",
    ]
    org = application.organization
    if org:
        lines.append(
            f"*Organization:* {esc(org.legal_name)}, {esc(org.street)}, "
            f"{esc(org.postal_code)} {esc(org.city)}, {esc(org.state)}, {esc(org.country)} · "
            f"{esc(org.phone)}"
        )
    if certdesk_makes_key(application.csr_method):
        algorithm = crypto.KEY_ALGORITHMS[application.key_algorithm or DEFAULT_KEY_ALGORITHM]
        lines.append(f"*CSR:* generated by certdesk with a new {algorithm} key")
    else:
        lines.append("*CSR:* the one you uploaded (your private key stays with you)")
    blocks: list[Block] = [
        section(f"*{order.ref}* · {purchase_words(order)}"),
        section(f"*Domains*\n{names}"[:3000]),
        section("\n".join(lines)),
        DividerBlock(),
        *(
            [context(":raised_hand: An approver checks this application before it goes to the CA.")]
            if needs_approval
            else []
        ),
        context(
            f":email: After you submit, the CA writes to *{esc(applicant.email)}*. Follow the link "
            "in its email, or the order stays under review. certdesk will remind you."
            if by_email
            else "After you submit, certdesk shows you the DNS records (or files) the CA wants "
            "published, and reminds you until they are."
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.CONFIRM_SUBMIT,
        private_metadata=metadata(order.id),
        title=plain("Submit for review?"),
        submit=plain("Submit for review"),
        close=plain("Back"),
        blocks=blocks,
    )
