"""What the simulated CA puts in its certificates: the CA/Browser Forum profiles (BR §7.1).

Checked with pkilint's ``lint_cabf_serverauth_cert`` in the tests: DV, OV and EV subscriber
certificates and the issuing CA lint without errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from bot.ca.base import Organization
from bot.products import needs_organization

#: Where certdesk serves the simulated CA's certificates and CRLs.
PKI_PATH = "/sim-ca/pki/"
# CA/Browser Forum reserved policy identifiers, so the profile looks like a public CA's.
POLICY = {
    "dv": "2.23.140.1.2.1",
    "ov": "2.23.140.1.2.2",
    "ev": "2.23.140.1.1",
}
_ANY_POLICY = "2.5.29.32.0"
#: BR §7.1.4: "XX" is the country of a subject no ISO 3166-1 code fits; the CA is nowhere.
_CA_COUNTRY = "XX"
_CA_ORGANIZATION = "certdesk (simulated, not trusted)"


@dataclass(frozen=True)
class Locations:
    """The URLs a relying party fetches the CA's certificates and CRLs from."""

    base: str

    @classmethod
    def under(cls, public_url: str) -> Locations:
        """The locations under certdesk's public URL, always plain http.

        BR §7.1.2.7.7 and §7.1.2.11.2 allow only http here: the objects are signed, and a
        client checking revocation cannot first check the revocation of an https server.
        """
        parts = urlsplit(public_url.rstrip("/"))
        path = parts.path + PKI_PATH.rstrip("/")
        return cls(urlunsplit(("http", parts.netloc, path, "", "")))

    def certificate(self, which: str) -> str:
        """Where the ``root`` or ``issuing`` CA certificate is served (DER)."""
        return f"{self.base}/{which}-ca.cer"

    def crl(self, which: str) -> str:
        """Where the CRL signed by the ``root`` or ``issuing`` CA is served (DER)."""
        return f"{self.base}/{which}-ca.crl"


def subscriber_certificate(
    public_key: CertificatePublicKeyTypes,
    *,
    names: Sequence[str],
    product: str,
    organization: Organization | None,
    issuer: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    locations: Locations,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """A TLS server certificate (BR §7.1.2.7) for ``public_key`` naming exactly ``names``.

    It is valid from ``not_before`` up to, not including, ``not_after``: RFC 5280 counts the
    notAfter second itself, so it is written one second earlier and a 200-day certificate
    lasts exactly 200 days (BR §6.3.2 counts the same way).
    """
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject_name(names, product=product, organization=organization))
        .issuer_name(issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after - timedelta(seconds=1))
        .add_extension(_issuer_access(locations, "issuing"), critical=False)
        .add_extension(_aki(issuer), critical=False)
        .add_extension(_policies(POLICY[product]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_crl_points(locations, "issuing"), critical=False)
        # digitalSignature alone, RSA keys too: BR §7.1.2.7.11 advises against keyEncipherment
        # alongside it, and TLS 1.2 ECDHE and TLS 1.3 sign with the key rather than encrypt.
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        # No subjectKeyIdentifier: BR §7.1.2.7.6 makes it NOT RECOMMENDED for subscribers.
    )
    return builder.sign(issuer_key, signature_hash(issuer_key))


def signature_hash(key: ec.EllipticCurvePrivateKey) -> hashes.SHA256 | hashes.SHA384:
    """The hash BR §7.1.3.2 pairs with the signing key: SHA-384 for P-384, else SHA-256."""
    return hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()


def subject_name(
    names: Sequence[str], *, product: str, organization: Organization | None
) -> x509.Name:
    """The subject: the organization's verified identity for OV/EV, and the first name as CN."""
    attributes = []
    if needs_organization(product) and organization is not None:
        if product == "ev":
            # EV Guidelines §7.1.4.2: registration details of a private organization.
            attributes += [
                x509.NameAttribute(NameOID.BUSINESS_CATEGORY, "Private Organization"),
                x509.NameAttribute(NameOID.JURISDICTION_COUNTRY_NAME, organization.country),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, registry_number(organization)),
            ]
        pairs = (
            (NameOID.COUNTRY_NAME, organization.country),
            (NameOID.STATE_OR_PROVINCE_NAME, organization.state),
            (NameOID.LOCALITY_NAME, organization.city),
            (NameOID.ORGANIZATION_NAME, organization.legal_name),
        )
        # Empty attributes are invalid in a Name; some countries have no state/province.
        attributes += [x509.NameAttribute(oid, value) for oid, value in pairs if value]
    # The CN is limited to 64 characters; a longer first name lives in the SAN alone.
    if len(names[0]) <= 64:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, names[0]))
    return x509.Name(attributes)


def registry_number(organization: Organization) -> str:
    """The number the simulated business registry files ``organization`` under.

    The simulated CA plays the registry too (its review "finds" the organization there), so
    the number is its own: stable for one country and legal name, and marked as simulated.
    """
    identity = f"{organization.country}\n{organization.legal_name.casefold()}"
    digest = hashlib.sha256(identity.encode()).digest()
    return f"SIM-{int.from_bytes(digest[:8], 'big') % 10**8:08d}"


def ca_certificate(
    *,
    common_name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    locations: Locations,
    not_before: datetime,
    lifetime: timedelta,
) -> x509.Certificate:
    """The self-signed root (``issuer`` None, BR §7.1.2.1) or the issuing CA (BR §7.1.2.6)."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, _CA_COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _CA_ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    public_key = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + lifetime)
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0),
            critical=True,
        )
        .add_extension(
            _key_usage(digital_signature=True, key_cert_sign=True, crl_sign=True), critical=True
        )
        .add_extension(ski, critical=False)
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        return builder.sign(issuer_key, signature_hash(issuer_key))
    builder = (
        builder.add_extension(_aki(issuer), critical=False)
        .add_extension(_issuer_access(locations, "root"), critical=False)
        .add_extension(_crl_points(locations, "root"), critical=False)
        # An affiliated CA may assert anyPolicy (BR §7.1.2.10.5); it issues DV, OV and EV.
        .add_extension(_policies(_ANY_POLICY), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    return builder.sign(issuer_key, signature_hash(issuer_key))


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _issuer_access(locations: Locations, which: str) -> x509.AuthorityInformationAccess:
    url = x509.UniformResourceIdentifier(locations.certificate(which))
    return x509.AuthorityInformationAccess(
        [x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, url)]
    )


def _crl_points(locations: Locations, which: str) -> x509.CRLDistributionPoints:
    url = x509.UniformResourceIdentifier(locations.crl(which))
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint(full_name=[url], relative_name=None, reasons=None, crl_issuer=None)]
    )


def _policies(oid: str) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(oid), None)])


def _key_usage(
    *,
    digital_signature: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )
