"""The new-order form's rules between product, domain type and count."""

from __future__ import annotations

import pytest

from bot.errors import FieldErrors
from bot.products import parse_purchase


def test_a_valid_purchase() -> None:
    purchase = parse_purchase(product="ov", domain_type="multi", domain_count=" 5 ", validity="200")
    assert (purchase.product, purchase.domain_count, purchase.validity_days) == ("ov", 5, 200)
    assert purchase.needs_organization


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        (dict(product=None), "product", "Choose the product"),
        (dict(domain_count="five"), "domain_count", "Enter the number"),
        (dict(domain_count="0"), "domain_count", "from 1 to 250"),
        (dict(domain_type="single", domain_count="2"), "domain_count", "exactly 1"),
        (dict(domain_type="multi", domain_count="1"), "domain_count", "2 or more"),
        (dict(product="ev", domain_type="wildcard"), "domain_type", "EV"),
        (dict(validity="365"), "validity", "validity"),
    ],
)
def test_each_mistake_is_reported_on_its_field(values: dict, field: str, words: str) -> None:
    given = dict(product="dv", domain_type="multi", domain_count="3", validity="90")
    given.update(values)
    with pytest.raises(FieldErrors) as raised:
        parse_purchase(**given)
    assert words in raised.value.errors[field]
