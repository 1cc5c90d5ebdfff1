"""Make certificate signing requests and check uploaded ones the way a CA would."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import idna
import pycountry
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from bot.crypto import keys, sniff
from bot.crypto.pem import to_pem
from bot.errors import CSRError
from bot.organization import Organization

_WEAK_HASHES = {"md5": "MD5", "sha1": "SHA-1", "sha224": "SHA-224"}
# Codes people type that are not ISO 3166 alpha-2, and the code they meant.
_COUNTRY_MIXUPS = {"UK": "GB", "EL": "GR", "EN": "GB"}
# Upper bounds from RFC 5280 appendix A; longer values make CAs reject the request.
_MAX_LENGTH = {"legal name": 64, "state": 128, "city": 128, "street": 128, "postal code": 40}


@dataclass(frozen=True)
class CSRInfo:
    """What certdesk needs to know about a CSR that passed every check."""

    pem: bytes
    common_name: str | None
    names: tuple[str, ...]  # SAN dNSNames then CN, lower case, without duplicates
    key_description: str  # "RSA 2048", "ECDSA P-256"
    public_key_sha256: str
    country: str | None


def make_csr(
    key_pem: bytes, domains: Sequence[str], *, organization: Organization | None = None
) -> bytes:
    """Build a SHA-256 CSR whose SAN is exactly ``domains`` (CN = the first); return PEM."""
    names = list(dict.fromkeys(_a_label(d) for d in domains))
    if not names:
        raise CSRError("A certificate request needs at least one domain.")
    key = keys.load_private_key(key_pem)
    attributes: list[x509.NameAttribute] = []
    if organization is not None:
        attributes = _organization_attributes(organization)
    # A CN holds at most 64 characters; a longer first name lives in the SAN alone (allowed).
    if len(names[0]) <= 64:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, names[0]))
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attributes))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def load_csr(data: bytes) -> CSRInfo:
    """Read a PEM or DER CSR and check it as a CA would; raise CSRError saying what to fix."""
    der = sniff.csr_der(data)
    try:
        csr = x509.load_der_x509_csr(der)
        subject = csr.subject
        public_key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise CSRError(
            "This CSR is damaged and cannot be read. Make or export it again and upload "
            "the whole file."
        ) from None
    problems = _problems(csr, public_key)
    common_name = _first(subject, NameOID.COMMON_NAME)
    country = _first(subject, NameOID.COUNTRY_NAME)
    if country is not None and (problem := country_problem(country)):
        problems.append(problem)
    names = _names(csr, common_name)
    if not names:
        problems.append("It names no domain: put the domains in the subject alternative name.")
    if problems:
        raise CSRError(_sentence(problems))
    return CSRInfo(
        pem=to_pem("CERTIFICATE REQUEST", der),
        common_name=common_name,
        names=names,
        key_description=keys.describe_public_key(public_key),
        public_key_sha256=keys.public_key_sha256(public_key),
        country=country,
    )


def check_csr_names(info: CSRInfo, domains: Sequence[str]) -> None:
    """Raise CSRError unless the CSR names exactly ``domains`` (A-labels, any case)."""
    wanted = {_comparable(d) for d in domains}
    present = {_comparable(n) for n in info.names}
    missing = [d for d in domains if _comparable(d) not in present]
    extra = [n for n in info.names if _comparable(n) not in wanted]
    if not missing and not extra:
        return
    parts = ["The CSR does not name the same domains as this order."]
    if missing:
        parts.append(f"Missing from the CSR: {', '.join(missing)}.")
    if extra:
        parts.append(f"In the CSR but not in the order: {', '.join(extra)}.")
    parts.append(
        f"Make the CSR again with exactly these names: {', '.join(domains)} "
        "— or let certdesk generate it."
    )
    raise CSRError(" ".join(parts))


def country_problem(country: str) -> str | None:
    """Why ``country`` is not a usable ISO 3166 alpha-2 code, in words a person can act on."""
    if country in _COUNTRY_MIXUPS:
        meant = _COUNTRY_MIXUPS[country]
        return (
            f"The country (C) is “{country}”, which is not an ISO 3166 code: use “{meant}” instead."
        )
    if (
        len(country) != 2
        or not country.isalpha()
        or pycountry.countries.get(alpha_2=country.upper()) is None
    ):
        return (
            f"The country (C) “{country}” is not a two-letter ISO 3166 country code "
            "(for example US, DE, GB)."
        )
    if country != country.upper():
        return f"The country (C) “{country}” must be in capitals: “{country.upper()}”."
    return None


def _problems(csr: x509.CertificateSigningRequest, public_key: object) -> list[str]:
    """Signature, hash and key problems, the signature first because it voids the rest."""
    problems: list[str] = []
    weak = None
    try:
        algorithm = csr.signature_hash_algorithm
    except UnsupportedAlgorithm:
        weak = csr.signature_algorithm_oid.dotted_string
    else:
        if algorithm is not None and algorithm.name in _WEAK_HASHES:
            weak = _WEAK_HASHES[algorithm.name]
    if weak is None:
        # Checked only for acceptable hashes: cryptography reports SHA-1/MD5 signatures as
        # invalid, and "weak hash" is the message that tells the person what to change.
        if not csr.is_signature_valid:
            problems.append(
                "Its signature does not match its contents: the file was altered or damaged "
                "after it was made. Export or make it again."
            )
    else:
        problems.append(
            f"It is signed with {weak}, which CAs no longer accept. Make it again with "
            "SHA-256 (for example `openssl req -new -sha256 ...`)."
        )
    key_problem = keys.key_problem(public_key)  # type: ignore[arg-type]
    if key_problem:
        problems.append(key_problem)
    return problems


def _names(csr: x509.CertificateSigningRequest, common_name: str | None) -> tuple[str, ...]:
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        dns_names = []
    except ValueError:
        raise CSRError(
            "The CSR's extensions are malformed (for example a duplicated subject "
            "alternative name). Make it again."
        ) from None
    candidates = [*dns_names, *([common_name] if common_name else [])]
    return tuple(dict.fromkeys(n.strip().lower() for n in candidates if n.strip()))


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    found = name.get_attributes_for_oid(oid)
    if not found:
        return None
    value = found[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _organization_attributes(org: Organization) -> list[x509.NameAttribute]:
    if problem := country_problem(org.country):
        raise CSRError(problem)
    for words, value in (
        ("legal name", org.legal_name),
        ("state", org.state),
        ("city", org.city),
        ("street", org.street),
        ("postal code", org.postal_code),
    ):
        if len(value.strip()) > _MAX_LENGTH[words]:
            raise CSRError(
                f"The organization's {words} is longer than {_MAX_LENGTH[words]} characters, "
                "the most a certificate can hold: shorten it."
            )
    pairs = (
        (NameOID.COUNTRY_NAME, org.country),
        (NameOID.STATE_OR_PROVINCE_NAME, org.state),
        (NameOID.LOCALITY_NAME, org.city),
        (NameOID.STREET_ADDRESS, org.street),
        (NameOID.POSTAL_CODE, org.postal_code),
        (NameOID.ORGANIZATION_NAME, org.legal_name),
    )
    return [x509.NameAttribute(oid, value.strip()) for oid, value in pairs if value.strip()]


def _a_label(domain: str) -> str:
    """The A-label form of a (possibly wildcard) domain; CSRError if it cannot be one."""
    name = domain.strip().rstrip(".").lower()
    prefix = "*." if name.startswith("*.") else ""
    rest = name.removeprefix("*.")
    if rest.isascii():
        if not rest:
            raise CSRError(f"“{domain}” is not a domain name.")
        return prefix + rest
    try:
        return prefix + idna.encode(rest, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise CSRError(f"“{domain}” is not a valid internationalized domain name.") from None


def _comparable(name: str) -> str:
    try:
        return _a_label(name)
    except CSRError:
        return name.strip().lower()


def _sentence(problems: list[str]) -> str:
    if len(problems) == 1:
        return f"This CSR cannot be used. {problems[0]}"
    return "This CSR cannot be used:\n" + "\n".join(f"• {p}" for p in problems)
