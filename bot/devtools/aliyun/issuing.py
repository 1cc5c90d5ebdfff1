"""The stand-in's issuing: CSR checks as the CA makes them, and real chains from a local root."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from bot.ca.base import Organization
from bot.ca.simulated.authority import Authority
from bot.crypto.keys import generate_key, load_private_key
from bot.devtools.aliyun.model import ApiError, Company, Instance


class Cas(Protocol):
    """What issuing needs of the stand-in's account state (``operations.Cas``)."""

    authority: Authority
    certificates: dict[int, dict]
    companies: dict[int, Company]

    def next_id(self) -> int:
        """A fresh numeric id."""
        ...


_ONLINE_KEYS = {"RSA_2048": "rsa2048", "RSA_3072": "rsa3072", "RSA_4096": "rsa4096"}
_ONLINE_KEYS["ECC_256"] = "p256"


def issue(cas: Cas, inst: Instance) -> None:
    """Issue the instance's certificate: a real chain from the stand-in's local root."""
    app = inst.application
    assert app is not None
    key_pem = None
    if app.csr_pem:
        public_key = x509.load_pem_x509_csr(app.csr_pem.encode()).public_key()
    else:
        key_pem = generate_key(_ONLINE_KEYS[app.key_algorithm])
        public_key = load_private_key(key_pem).public_key()
    now = datetime.now(UTC)
    leaf = cas.authority.issue(
        public_key,
        names=app.domains,
        product=inst.product.lower(),
        organization=_organization(cas, app.company_id),
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=199),
    )
    cert_id = cas.next_id()
    pem = leaf.public_bytes(serialization.Encoding.PEM) + cas.authority.issuing.public_bytes(
        serialization.Encoding.PEM
    )
    cas.certificates[cert_id] = {
        "Id": cert_id,
        "InstanceId": inst.instance_id,
        "Cert": pem.decode(),
        "Key": key_pem.decode() if key_pem else "",
        "CertChain": [
            {
                "CommonName": c.subject.rfc4514_string(),
                "IssuerCommonName": c.issuer.rfc4514_string(),
            }
            for c in cas.authority.chain()
        ],
    }
    inst.status, inst.certificate_id, inst.order_progress = "normal", cert_id, "issued"


def _organization(cas: Cas, company_id: int | None) -> Organization | None:
    company = cas.companies.get(company_id) if company_id else None
    if company is None:
        return None
    f = company.fields
    return Organization(
        legal_name=f["CompanyName"], country=f["CountryCode"], state=f["Province"],
        city=f["City"], street=f["CompanyAddress"], postal_code=f["PostCode"],
        phone=f["CompanyPhone"],
    )  # fmt: skip


def check_csr(pem: str, domains: tuple[str, ...]) -> str:
    """Refuse a CSR that cannot be read or does not name exactly ``domains``; return it."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except ValueError:
        raise ApiError("InvalidParameter.Csr", "The CSR cannot be parsed.") from None
    names = {a.value.lower() for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)}
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names |= {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    except x509.ExtensionNotFound:
        pass
    if not csr.is_signature_valid or names != set(domains):
        raise ApiError(
            "InvalidParameter.Csr", "The domains in the CSR do not match the Domain parameter."
        )
    return pem
