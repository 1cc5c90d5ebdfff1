"""The stand-in's records: purchased instances, their applications, contacts and companies."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from publicsuffixlist import PublicSuffixList

#: Key algorithms every product accepts; RSA_3072 and SM2 are per product (seeded).
BASE_KEY_ALGORITHMS = ("RSA_2048", "RSA_4096", "ECC_256")
_PSL = PublicSuffixList(only_icann=True)


class ApiError(Exception):
    """An error answer: the ``code``, ``message`` and HTTP ``status`` the real service uses."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Application:
    """What UpdateInstance stored on an instance, and what the CA did with it."""

    domains: tuple[str, ...]
    csr_method: str
    csr_pem: str | None
    key_algorithm: str
    validation_method: str
    contact_ids: tuple[int, ...]
    company_id: int | None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    applied_at: float | None = None  # time.monotonic() of ApplyCertificate
    tokens: dict[str, str] = field(default_factory=dict)  # domain -> validation value
    validated: bool = False
    cancel_at: float | None = None  # when an accepted withdrawal takes effect


@dataclass
class Instance:
    """One purchased subscription instance (what ListInstances shows)."""

    instance_id: str
    product: str  # "DV" | "OV" | "EV"
    full_domains: int
    wildcard_domains: int = 0
    key_algorithms: tuple[str, ...] = BASE_KEY_ALGORITHMS
    status: str = "inactive"
    order_start: int = field(default_factory=lambda: int(time.time()))
    order_end: int = field(default_factory=lambda: int(time.time()) + 365 * 86400)
    spec: str = ""
    application: Application | None = None
    pending_result: str = ""
    order_progress: str = ""
    certificate_id: int | None = None

    def summary(self) -> dict:
        """The instance as ListInstances lists it."""
        return {
            "InstanceId": self.instance_id,
            "CertificateType": self.product,
            "Status": self.status,
            "Brand": "certdesk stand-in",
            "Spec": self.spec or f"{self.product} {self.full_domains}+{self.wildcard_domains}",
            "FullDomainCount": self.full_domains,
            "WildcardDomainCount": self.wildcard_domains,
            "KeyAlgorithm": self.application.key_algorithm if self.application else "RSA_2048",
            "Domain": ",".join(self.application.domains) if self.application else "",
            "OrderStartTime": self.order_start,
            "OrderEndTime": self.order_end,
            "InstanceType": "BUY",
            "PendingResult": self.pending_result,
            "CertificateId": self.certificate_id,
        }


@dataclass(frozen=True)
class Contact:
    """A contact created with CreateContact."""

    contact_id: int
    name: str
    email: str
    mobile: str


@dataclass(frozen=True)
class Company:
    """An organization record created with CreateCompany."""

    company_id: int
    fields: dict[str, str]


def root_domain(domain: str) -> str:
    """The registrable domain a name belongs to (example.com for *.www.example.com)."""
    bare = domain.removeprefix("*.")
    return _PSL.privatesuffix(bare) or bare


def dns_record(domain: str) -> tuple[str, str]:
    """(ValidationKey, RootDomain): the TXT host record, relative to the root domain."""
    bare, root = domain.removeprefix("*."), root_domain(domain)
    sub = bare[: -len(root)].rstrip(".")
    return ("_dnsauth." + sub if sub else "_dnsauth"), root


def validation_list(instance: Instance) -> list[dict]:
    """DomainValidationList for an application waiting for domain validation."""
    app = instance.application
    assert app is not None
    out = []
    for domain in app.domains:
        token = app.tokens.setdefault(domain, secrets.token_hex(16))
        key, root = dns_record(domain)
        if app.validation_method == "HTTP" and not domain.startswith("*."):
            out.append(
                {
                    "Domain": domain,
                    "RootDomain": root,
                    "ValidationType": "HTTP",
                    "ValidationKey": f"http://{domain}/.well-known/pki-validation/fileauth.txt",
                    "ValidationValue": token,
                }
            )
        else:
            out.append(
                {
                    "Domain": domain,
                    "RootDomain": root,
                    "ValidationType": "TXT",
                    "ValidationKey": key,
                    "ValidationValue": token,
                }
            )
    return out
