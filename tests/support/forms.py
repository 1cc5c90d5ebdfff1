"""What a person types into the Complete modal when everything is right."""

from __future__ import annotations

from bot.ca.base import Organization
from bot.views import ids

GOOD_DV = {
    ids.DOMAINS: "example.com\nwww.example.com\nBücher.example.com",
    ids.APPLICANT_NAME: "Alice Example",
    ids.APPLICANT_EMAIL: "admin@example.com",
    ids.APPLICANT_PHONE: "+44 20 7946 0958",
    ids.CSR_METHOD: "system",
    ids.KEY_ALGORITHM: "p256",
}
GOOD_ORG = {
    ids.ORG_LEGAL_NAME: "Example Ltd",
    ids.ORG_COUNTRY: "GB",
    ids.ORG_STATE: "Greater London",
    ids.ORG_CITY: "London",
    ids.ORG_STREET: "1 Example Street",
    ids.ORG_POSTAL_CODE: "EC1A 1AA",
    ids.ORG_PHONE: "+44 20 7946 0000",
}

#: The same organization as the CA backends and CSRs see it.
ORGANIZATION = Organization(
    legal_name="Example Widgets Ltd",
    country="GB",
    state="Greater London",
    city="London",
    street="1 High Street",
    postal_code="EC1A 1AA",
    phone="+44 20 7946 0000",
)
