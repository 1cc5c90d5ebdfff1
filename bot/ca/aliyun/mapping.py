"""Alibaba Cloud's instance records in certdesk's terms: purchases, states and validations."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bot.ca.base import CAState, CAStatus, Purchase, Validation
from bot.errors import CAError

#: certdesk's key algorithm names <-> the CAS API's.
KEY_ALGORITHMS = {
    "rsa2048": "RSA_2048",
    "rsa3072": "RSA_3072",
    "rsa4096": "RSA_4096",
    "p256": "ECC_256",
    "sm2": "SM2",
}
#: What every product accepts; RSA_3072 and SM2 only where the product supports them.
COMMON_KEY_ALGORITHMS = ("rsa2048", "rsa4096", "p256")
VALIDATION_METHODS = {"dns-01": "DNS", "http-01": "HTTP"}
_DAY = 86_400


def purchase(item: Any) -> Purchase:
    """A ListInstances entry as a Purchase."""
    full, wild = item.full_domain_count or 0, item.wildcard_domain_count or 0
    if wild and full:
        domain_type = "multiple+wildcard"
    elif wild:
        domain_type = "wildcard"
    else:
        domain_type = "single" if full <= 1 else "multiple"
    start, end = _seconds(item.order_start_time), _seconds(item.order_end_time)
    algorithms = list(COMMON_KEY_ALGORITHMS)
    # The instance names the algorithm it was bought for; offer it even when it is not common.
    for name, api in KEY_ALGORITHMS.items():
        if api == item.key_algorithm and name not in algorithms:
            algorithms.append(name)
    return Purchase(
        ref=item.instance_id,
        product=(item.certificate_type or "").lower(),
        domain_type=domain_type,
        domain_count=full,
        wildcard_count=wild,
        validity_days=max(0, (end - start) // _DAY) if start and end else 0,
        description=" ".join(p for p in (item.brand, item.spec) if p) or item.instance_id,
        key_algorithms=tuple(algorithms),
    )


def _seconds(value: int | None) -> int:
    if not value:
        return 0
    return value // 1000 if value > 100_000_000_000 else value  # milliseconds, if so given


def validation(item: Any) -> Validation:
    """One DomainValidationList entry as exact steps: absolute record name, or URL and content."""
    domain = item.domain or ""
    kind = (item.validation_type or "").upper()
    key, root = (item.validation_key or "").strip(), (item.root_domain or "").strip(".")
    if kind == "HTTP":
        url = (
            key if key.startswith(("http://", "https://")) else f"http://{domain}/{key.lstrip('/')}"
        )
        return Validation(domain, "http-01", url=url, content=item.validation_value)
    if key in ("", "@"):
        name = root
    elif root and not key.endswith("." + root) and key != root:
        name = f"{key}.{root}"  # the CA gives the host record relative to the root domain
    else:
        name = key
    return Validation(
        domain,
        "dns-01",
        record_name=name,
        record_type=kind or "TXT",
        record_value=item.validation_value,
    )


def instance_status(detail: Any, *, applied: bool) -> CAStatus:
    """Map GetInstanceDetail to a CAStatus; ``applied``: certdesk applied with this instance."""
    status = detail.status or ""
    said = (detail.pending_result or "").strip()
    if status == "pending":
        listed = detail.domain_validation_list or []
        if listed:
            return CAStatus(
                CAState.AWAITING_VERIFICATION, validations=tuple(map(validation, listed))
            )
        return CAStatus(CAState.REVIEWING)
    if status in ("normal", "willExpire") and detail.certificate_id:
        if detail.certificate_status == "revoked":
            return CAStatus(CAState.FAILED, reason="The CA revoked the issued certificate.")
        return CAStatus(CAState.ISSUED)
    if status == "inactive" and applied:
        if said:
            return CAStatus(
                CAState.FAILED,
                reason=f"The CA rejected the application: {said.rstrip('.')}. "
                "Revise the application and submit again.",
            )
        return CAStatus(CAState.CANCELLED, reason="The application was withdrawn at the CA.")
    if status == "expired":
        return CAStatus(
            CAState.FAILED,
            reason="The Alibaba Cloud instance expired before a certificate was issued; "
            "buy a new one on the Alibaba Cloud console.",
        )
    if status in ("refund", "closed"):
        return CAStatus(
            CAState.CANCELLED,
            reason="The Alibaba Cloud instance was "
            + ("refunded." if status == "refund" else "closed."),
        )
    return CAStatus(CAState.REVIEWING)


def api_key_algorithm(name: str) -> str:
    """The CAS name of a certdesk key algorithm Alibaba Cloud should generate; CAError if none."""
    if name not in KEY_ALGORITHMS:
        raise CAError(
            f"Alibaba Cloud cannot generate a {name} key; choose one of "
            f"{', '.join(KEY_ALGORITHMS)}."
        )
    return KEY_ALGORITHMS[name]


def csr_key_algorithm(csr_pem: bytes) -> str:
    """The CAS KeyAlgorithm of a CSR's key; CAError for keys Alibaba Cloud does not accept."""
    try:
        key = x509.load_pem_x509_csr(csr_pem).public_key()
    except ValueError:
        raise CAError("The certificate request (CSR) cannot be read.") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size in (2048, 3072, 4096):
        return f"RSA_{key.key_size}"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return "ECC_256"
    raise CAError(
        "Alibaba Cloud accepts CSRs with RSA 2048, 3072 or 4096 or ECDSA P-256 keys; "
        "make the CSR with one of those."
    )
