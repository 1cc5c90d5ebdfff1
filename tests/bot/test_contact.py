"""Tests for bot.contact: applicant and organization fields, by example and by property."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ca.base import Organization
from bot.contact import (
    Applicant,
    validate_applicant,
    validate_country,
    validate_email,
    validate_organization,
    validate_phone,
)
from bot.errors import FieldErrors, ValidationError

FAST = settings(max_examples=200, deadline=None)

GOOD_ORG: dict[str, str] = {
    "legal_name": "Example Widgets Ltd",
    "country": "gb",
    "state": "Greater London",
    "city": "London",
    "street": "1 High Street",
    "postal_code": "EC1A 1BB",
    "phone": "+44 20 7946 0958",
}


def refused(check: Any, text: str) -> str:
    """Return the message ``check(text)`` raises (failing if it raises none)."""
    with pytest.raises(ValidationError) as caught:
        check(text)
    return str(caught.value)


def org_errors(**changes: str) -> dict[str, str]:
    """Return the FieldErrors of GOOD_ORG with ``changes`` applied."""
    with pytest.raises(FieldErrors) as caught:
        validate_organization(**{**GOOD_ORG, **changes})
    return caught.value.errors


# --- email ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("alice@example.com", "alice@example.com"),
        ("  Alice@EXAMPLE.com ", "Alice@example.com"),  # the domain is case-folded, not the mailbox
        ("admin@bücher.de", "admin@bücher.de"),
        ("first.last+certs@mail.example.co.uk", "first.last+certs@mail.example.co.uk"),
    ],
)
def test_valid_emails_are_normalized(typed: str, stored: str) -> None:
    assert validate_email(typed) == stored


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", "Enter the email address."),
        ("   ", "Enter the email address."),
        ("alice", "“alice” is not a usable email address. An email address must have an @-sign."),
        ("alice@example", "It should have a period"),
        ("alice@@example.com", "“alice@@example.com” is not a usable email address"),
        ("alice smith@example.com", "is not a usable email address"),
        ("alice@localhost", "is not a usable email address"),
    ],
)
def test_invalid_emails_say_why(typed: str, expected: str) -> None:
    assert expected in refused(validate_email, typed)


# --- phone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (202) 555-0143", "+12025550143"),
        ("+49 30 123456", "+4930123456"),
        ("  +86 138 0013 8000 ", "+8613800138000"),
        ("＋44 20 7946 0958", "+442079460958"),  # full-width plus from an Asian keyboard
    ],
)
def test_valid_phones_become_e164(typed: str, e164: str) -> None:
    assert validate_phone(typed) == e164


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", "Enter the phone number."),
        ("020 7946 0958", "start with + and the country code, as in +44 20 7946 0958"),
        ("(202) 555-0143", "start with + and the country code"),
        ("0044 20 7946 0958", "with + instead of the leading 00"),
        ("+44 12", "Check “+44 12”: the number is too short for +44."),
        ("+49 30 1234567890123456", "too long"),
        ("+999 1234567", "not a country calling code"),
        ("+abc", "this is not a phone number"),
        ("+1 555 555 5555", "it is not a valid number for +1."),
        ("+33 0 00 00 00 00", "it is not a valid number for France."),
        ("+1 202 555 0143 ext. 12", "Leave out the extension"),
    ],
)
def test_invalid_phones_say_what_to_fix(typed: str, expected: str) -> None:
    assert expected in refused(validate_phone, typed)


# --- country ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "code"), [("GB", "GB"), ("de", "DE"), (" us ", "US")])
def test_valid_country_codes_are_uppercased(typed: str, code: str) -> None:
    assert validate_country(typed) == code


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("UK", "Use GB for the United Kingdom (UK is not an ISO country code)."),
        ("uk", "Use GB for the United Kingdom"),
        ("EL", "Use GR for Greece"),
        ("Germany", "Use the two-letter code DE for Germany."),
        ("DEU", "Use the two-letter code DE for Germany."),
        ("USA", "Use the two-letter code US for the United States."),
        ("united kingdom", "Use the two-letter code GB for the United Kingdom."),
        ("England", "Use the two-letter code GB"),
        ("Netherlands", "Use the two-letter code NL for the Netherlands."),
        ("276", "Use the two-letter code DE"),
        ("", "Enter the country as its two-letter code, such as GB or DE."),
        ("XX", "“XX” is not a country code. Enter the two-letter ISO 3166 code"),
        ("Atlantis", "“Atlantis” is not a country code"),
    ],
)
def test_country_hints(typed: str, expected: str) -> None:
    assert expected in refused(validate_country, typed)


# --- applicant --------------------------------------------------------------------------------


def test_applicant() -> None:
    applicant = validate_applicant(
        name="  Alice   Smith ", email="Alice@Example.com", phone="+44 20 7946 0958"
    )
    assert applicant == Applicant(
        name="Alice Smith", email="Alice@example.com", phone="+442079460958"
    )


def test_applicant_errors_name_only_the_wrong_fields() -> None:
    with pytest.raises(FieldErrors) as caught:
        validate_applicant(name="", email="alice@example.com", phone="020 7946 0958")
    assert caught.value.errors == {
        "applicant_name": "Enter the applicant's name.",
        "applicant_phone": "Enter the phone number in international form: start with + and "
        "the country code, as in +44 20 7946 0958.",
    }


def test_applicant_name_limit() -> None:
    assert validate_applicant(name="a" * 64, email="a@example.com", phone="+4930123456")
    with pytest.raises(FieldErrors) as caught:
        validate_applicant(name="a" * 65, email="bad", phone="+4930123456")
    assert set(caught.value.errors) == {"applicant_name", "applicant_email"}
    assert (
        "65 characters long; certificates allow at most 64" in caught.value.errors["applicant_name"]
    )


# --- organization -----------------------------------------------------------------------------


def test_organization() -> None:
    org = validate_organization(**{**GOOD_ORG, "street": " 1  High\nStreet "})
    assert org == Organization(
        legal_name="Example Widgets Ltd",
        country="GB",
        state="Greater London",
        city="London",
        street="1 High Street",
        postal_code="EC1A 1BB",
        phone="+442079460958",
    )


def test_state_and_postal_code_may_be_empty() -> None:
    org = validate_organization(**{**GOOD_ORG, "country": "SG", "state": " ", "postal_code": ""})
    assert (org.state, org.postal_code) == ("", "")


def test_every_empty_required_field_is_reported() -> None:
    empty = {key: "" for key in GOOD_ORG}
    assert org_errors(**empty) == {
        "org_legal_name": "Enter the organization's legal name.",
        "org_country": "Enter the country as its two-letter code, such as GB or DE.",
        "org_city": "Enter the city.",
        "org_street": "Enter the street address.",
        "org_phone": "Enter the phone number.",
    }


@pytest.mark.parametrize(
    ("field", "key", "limit"),
    [
        ("legal_name", "org_legal_name", 64),
        ("state", "org_state", 128),
        ("city", "org_city", 128),
        ("street", "org_street", 128),
        ("postal_code", "org_postal_code", 40),
    ],
)
def test_length_limits_are_stated(field: str, key: str, limit: int) -> None:
    validate_organization(**{**GOOD_ORG, field: "x" * limit})  # exactly at the limit is fine
    assert org_errors(**{field: "x" * (limit + 1)}) == {
        key: f"The {_WHAT[key]} is {limit + 1} characters long; certificates allow at most "
        f"{limit}. Shorten or abbreviate it."
    }


_WHAT = {
    "org_legal_name": "organization's legal name",
    "org_state": "state or province",
    "org_city": "city",
    "org_street": "street address",
    "org_postal_code": "postal code",
}


def test_control_characters_are_refused() -> None:
    errors = org_errors(city="Lon\x07don")
    assert errors == {"org_city": "The city contains a character that cannot be used (U+0007)."}


def test_country_and_phone_errors_are_keyed() -> None:
    errors = org_errors(country="UK", phone="07700 900123")
    assert set(errors) == {"org_country", "org_phone"}
    assert errors["org_country"].startswith("Use GB")


# --- properties -------------------------------------------------------------------------------


@FAST
@given(st.sampled_from([c.alpha_2 for c in pycountry.countries]), st.booleans())
def test_every_iso_code_is_accepted_in_any_case(code: str, lower: bool) -> None:
    assert validate_country(code.lower() if lower else code) == code


@FAST
@given(st.sampled_from(list(pycountry.countries)))
def test_alpha3_and_names_point_to_the_alpha2_code(country: Any) -> None:
    for typed in (country.alpha_3, country.name):
        assert f"code {country.alpha_2} for" in refused(validate_country, typed)


@FAST
@given(st.text(max_size=40))
def test_country_raises_only_validation_errors(text: str) -> None:
    try:
        code = validate_country(text)
    except ValidationError as error:
        assert str(error)
        return
    assert len(code) == 2 and code.isupper()


@FAST
@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)))
def test_example_numbers_of_every_region_round_trip(region: str) -> None:
    number = phonenumbers.example_number(region)
    if number is None:
        return
    typed = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    assert validate_phone(typed) == e164
    assert validate_phone(e164) == e164


@FAST
@given(st.text(max_size=40))
def test_phone_and_email_raise_only_validation_errors(text: str) -> None:
    for check in (validate_phone, validate_email):
        try:
            check(text)
        except ValidationError as error:
            assert str(error)


@FAST
@given(
    st.fixed_dictionaries({key: st.text(max_size=150) for key in GOOD_ORG}),
)
def test_organization_raises_only_field_errors_keyed_by_block(fields: dict[str, str]) -> None:
    try:
        validate_organization(**fields)
    except FieldErrors as error:
        assert error.errors and set(error.errors) <= {f"org_{key}" for key in GOOD_ORG}
