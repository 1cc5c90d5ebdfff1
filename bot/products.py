"""What can be bought: products, domain types and validity, and the rules between them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import FieldErrors

PRODUCTS = {
    "dv": "DV — Domain Validated",
    "ov": "OV — Professional",
    "ev": "EV — Advanced",
}
DOMAIN_TYPES = {
    "single": "Single domain",
    "multi": "Multiple domains",
    "wildcard": "Wildcard",
}
#: Certificate lifetimes on sale. Since 15 March 2026 the CA/Browser Forum caps
#: TLS certificates at 200 days.
VALIDITY_DAYS = {90: "90 days", 200: "200 days"}
MAX_DOMAINS = 250


@dataclass(frozen=True)
class Purchase:
    """The order as bought."""

    product: str
    domain_type: str
    domain_count: int
    validity_days: int

    @property
    def needs_organization(self) -> bool:
        """OV and EV certificates name a verified organization."""
        return needs_organization(self.product)


def needs_organization(product: str) -> bool:
    """Whether certificates of ``product`` name a verified organization (OV and EV do)."""
    return product in ("ov", "ev")


def parse_purchase(
    *, product: str | None, domain_type: str | None, domain_count: str | None, validity: str | None
) -> Purchase:
    """Check a new order's values; raise FieldErrors keyed by field name."""
    errors: dict[str, str] = {}
    if product not in PRODUCTS:
        errors["product"] = "Choose the product you bought."
    if domain_type not in DOMAIN_TYPES:
        errors["domain_type"] = "Choose single, multiple or wildcard."
    count = 0
    try:
        count = int((domain_count or "").strip())
    except ValueError:
        errors["domain_count"] = "Enter the number of domains you bought, e.g. 5."
    else:
        if not 1 <= count <= MAX_DOMAINS:
            errors["domain_count"] = f"Enter a number from 1 to {MAX_DOMAINS}."
        elif domain_type == "single" and count != 1:
            errors["domain_count"] = "A single-domain certificate covers exactly 1 domain."
        elif domain_type == "multi" and count < 2:
            errors["domain_count"] = "A multi-domain certificate covers 2 or more domains."
    if product == "ev" and domain_type == "wildcard":
        errors["domain_type"] = "EV (Advanced) certificates cannot cover wildcard names."
    days = (
        int(validity)
        if validity and validity.strip().isascii() and validity.strip().isdigit()
        else 0
    )
    if days not in VALIDITY_DAYS:
        errors["validity"] = "Choose the validity you bought."
    if errors:
        raise FieldErrors(errors)
    assert product is not None and domain_type is not None
    return Purchase(product, domain_type, count, days)
