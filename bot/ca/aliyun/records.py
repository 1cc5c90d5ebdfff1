"""The applicant and the organization as the CA's own records (contacts, companies)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alibabacloud_cas20200407 import models as api

from bot.ca.base import Submission
from bot.errors import CAError

#: The backend's API call: (action, what certdesk is doing, request) -> SDK response.
Call = Callable[[str, str, object], Any]
#: List calls ask for this many records.
PAGE = 100


def check_organization(sub: Submission) -> None:
    """Raise CAError unless an OV/EV submission has what a company record needs."""
    if sub.product not in ("ov", "ev"):
        return
    if sub.organization is None:
        raise CAError("OV and EV certificates need the organization's details.")
    if not sub.registration_number:
        raise CAError(
            "Alibaba Cloud needs the organization's registration number (for a company in "
            "China, its unified social credit code) for OV and EV certificates. Add it and "
            "submit again."
        )


def contact(call: Call, sub: Submission) -> int:
    """The applicant as a CA contact, reusing an identical one."""
    listed = call(
        "ListContact",
        "look up the applicant contact",
        api.ListContactRequest(keyword=sub.applicant_email, show_size=PAGE),
    ).body
    for c in listed.contact_list or []:
        if (c.name, c.email, c.mobile) == (
            sub.applicant_name,
            sub.applicant_email,
            sub.applicant_phone,
        ):
            return int(c.contact_id)
    request = api.CreateContactRequest(
        name=sub.applicant_name, email=sub.applicant_email, mobile=sub.applicant_phone
    )
    return int(call("CreateContact", "create the applicant contact", request).body.contact_id)


def company(call: Call, sub: Submission) -> int:
    """The organization as a CA company record, reusing an identical one."""
    check_organization(sub)
    org = sub.organization
    assert org is not None
    wanted = {
        "company_name": org.legal_name,
        "company_code": sub.registration_number,
        "company_phone": org.phone,
        "company_address": org.street,
        "province": org.state,
        "city": org.city,
        "post_code": org.postal_code,
        "country_code": org.country,
    }
    listed = call(
        "ListCompanies",
        "look up the organization",
        api.ListCompaniesRequest(keyword=org.legal_name, show_size=PAGE),
    ).body
    for c in listed.company_list or []:
        if all(str(getattr(c, k) or "") == v for k, v in wanted.items()):
            return int(c.company_id)
    request = api.CreateCompanyRequest(company_type=0, lang="en", **wanted)
    body = call("CreateCompany", "create the organization record", request).body
    return int(body.company_id)
