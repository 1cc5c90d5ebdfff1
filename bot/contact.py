"""Check the applicant and organization details a person types into the application."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import email_validator
import phonenumbers
import pycountry

from bot.ca.base import Organization
from bot.errors import FieldErrors, ValidationError

# Upper bounds of the X.509 subject attributes these fields become (RFC 5280 appendix A,
# X.520): organizationName 64, localityName and stateOrProvinceName 128, streetAddress 128,
# postalCode 40. The applicant's name is held to commonName's 64.
NAME_LIMIT = 64
ORG_LIMIT = 64
PLACE_LIMIT = 128
STREET_LIMIT = 128
POSTAL_LIMIT = 40

_EXAMPLE_PHONE = "+44 20 7946 0958"
# Codes and names people use that ISO 3166-1 does not: the CA would refuse them.
_COUNTRY_HINTS = {
    "UK": ("GB", "UK is not an ISO country code"),
    "EL": ("GR", "EL is the EU's code, not ISO's"),
}
_COUNTRY_ALIASES = {
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "great britain": "GB",
    "britain": "GB",
    "united states of america": "US",
    "america": "US",
    "holland": "NL",
    "south korea": "KR",
    "russia": "RU",
}


@dataclass(frozen=True)
class Applicant:
    """The person the CA contacts about the order; ``phone`` is in E.164 form."""

    name: str
    email: str
    phone: str


def _quote(text: str, limit: int = 60) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return "“" + "".join(c if c.isprintable() else "\ufffd" for c in shown) + "”"


def _text(value: str, *, what: str, limit: int, required: bool = True) -> str:
    """Tidy one free-text field and check it is present, printable and short enough."""
    # Runs of spaces, tabs or line breaks are typing slips; one space is what was meant.
    cleaned = " ".join(value.split())
    if not cleaned:
        if required:
            raise ValidationError(f"Enter the {what}.")
        return ""
    bad = next((c for c in cleaned if not c.isprintable()), None)
    if bad is not None:
        raise ValidationError(
            f"The {what} contains a character that cannot be used (U+{ord(bad):04X})."
        )
    if len(cleaned) > limit:
        raise ValidationError(
            f"The {what} is {len(cleaned)} characters long; certificates allow at most {limit}. "
            "Shorten or abbreviate it."
        )
    return cleaned


def validate_email(text: str) -> str:
    """Return the normalized email address, or raise ValidationError saying what is wrong."""
    stripped = text.strip()
    if not stripped:
        raise ValidationError("Enter the email address.")
    try:
        # No DNS look-up: certdesk must not reach outside servers to check a form.
        result = email_validator.validate_email(stripped, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValidationError(f"{_quote(stripped)} is not a usable email address. {exc}") from None
    return result.normalized


def _country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    name = getattr(country, "common_name", None) or country.name
    # "for the United Kingdom", "for the Netherlands", but "for Germany".
    plural = name.startswith("United ") or name.endswith(("lands", "ines", "Islands"))
    return f"the {name}" if plural else name


def _parse_problem(exc: phonenumbers.NumberParseException) -> str:
    kind = phonenumbers.NumberParseException
    return {
        kind.INVALID_COUNTRY_CODE: "the digits after + are not a country calling code",
        kind.TOO_SHORT_NSN: "the number is too short",
        kind.TOO_SHORT_AFTER_IDD: "the number is too short",
        kind.TOO_LONG: "the number is too long",
    }.get(exc.error_type, f"this is not a phone number; write it as in {_EXAMPLE_PHONE}")


def validate_phone(text: str) -> str:
    """Return the phone number in E.164 form; it must be typed in international form."""
    stripped = text.strip()
    if not stripped:
        raise ValidationError("Enter the phone number.")
    if stripped.startswith("00"):
        raise ValidationError(
            f"Write {_quote(stripped)} with + instead of the leading 00, as in {_EXAMPLE_PHONE}."
        )
    if not stripped.startswith(("+", "＋")):
        raise ValidationError(
            "Enter the phone number in international form: start with + and the country code, "
            f"as in {_EXAMPLE_PHONE}."
        )
    try:
        number = phonenumbers.parse(stripped, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"Check {_quote(stripped)}: {_parse_problem(exc)}.") from None
    if number.extension:
        raise ValidationError("Leave out the extension: enter the direct number only.")
    code = number.country_code or 0
    regions = phonenumbers.region_codes_for_country_code(code)
    # +1 and +7 serve several countries: name the calling code rather than guess one.
    if len(regions) == 1 and regions[0] != "001":
        where = f" for {_country_name(regions[0])}"
    else:
        where = f" for +{code}"
    reason = phonenumbers.is_possible_number_with_reason(number)
    problems = {
        phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: (
            f"+{code} is not a country calling code"
        ),
        phonenumbers.ValidationResult.TOO_SHORT: f"the number is too short{where}",
        phonenumbers.ValidationResult.TOO_LONG: f"the number is too long{where}",
    }
    if reason in problems:
        raise ValidationError(f"Check {_quote(stripped)}: {problems[reason]}.")
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(f"Check {_quote(stripped)}: it is not a valid number{where}.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_country(text: str) -> str:
    """Return the ISO 3166-1 alpha-2 code, uppercased; suggest the right code for near misses."""
    stripped = " ".join(text.split())
    if not stripped:
        raise ValidationError("Enter the country as its two-letter code, such as GB or DE.")
    code = stripped.upper()
    if code in _COUNTRY_HINTS:
        right, why = _COUNTRY_HINTS[code]
        raise ValidationError(f"Use {right} for {_country_name(right)} ({why}).")
    if len(code) == 2 and code.isascii() and pycountry.countries.get(alpha_2=code):
        return code
    found = _COUNTRY_ALIASES.get(stripped.casefold())
    if found is None:
        try:
            found = pycountry.countries.lookup(stripped).alpha_2
        except LookupError:
            raise ValidationError(
                f"{_quote(stripped)} is not a country code. Enter the two-letter ISO 3166 code, "
                "such as GB or DE."
            ) from None
    raise ValidationError(f"Use the two-letter code {found} for {_country_name(found)}.")


def _collect(checks: dict[str, Callable[[], str]]) -> dict[str, str]:
    """Run every check; return the cleaned values or raise FieldErrors naming each bad field."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field, check in checks.items():
        try:
            values[field] = check()
        except ValidationError as exc:
            errors[field] = str(exc)
    if errors:
        raise FieldErrors(errors)
    return values


def validate_applicant(*, name: str, email: str, phone: str) -> Applicant:
    """Check the applicant's details; raise FieldErrors keyed by the wrong inputs only."""
    values = _collect(
        {
            "applicant_name": lambda: _text(name, what="applicant's name", limit=NAME_LIMIT),
            "applicant_email": lambda: validate_email(email),
            "applicant_phone": lambda: validate_phone(phone),
        }
    )
    return Applicant(
        name=values["applicant_name"],
        email=values["applicant_email"],
        phone=values["applicant_phone"],
    )


def validate_organization(
    *,
    legal_name: str,
    country: str,
    state: str,
    city: str,
    street: str,
    postal_code: str,
    phone: str,
) -> Organization:
    """Check an OV/EV organization; raise FieldErrors keyed by the wrong inputs only."""
    # State and postal code may be empty: many countries (Singapore, Hong Kong, the UAE...)
    # have none, and the Baseline Requirements need only one of city or state.
    values = _collect(
        {
            "org_legal_name": lambda: _text(
                legal_name, what="organization's legal name", limit=ORG_LIMIT
            ),
            "org_country": lambda: validate_country(country),
            "org_state": lambda: _text(
                state, what="state or province", limit=PLACE_LIMIT, required=False
            ),
            "org_city": lambda: _text(city, what="city", limit=PLACE_LIMIT),
            "org_street": lambda: _text(street, what="street address", limit=STREET_LIMIT),
            "org_postal_code": lambda: _text(
                postal_code, what="postal code", limit=POSTAL_LIMIT, required=False
            ),
            "org_phone": lambda: validate_phone(phone),
        }
    )
    return Organization(
        legal_name=values["org_legal_name"],
        country=values["org_country"],
        state=values["org_state"],
        city=values["org_city"],
        street=values["org_street"],
        postal_code=values["org_postal_code"],
        phone=values["org_phone"],
    )
