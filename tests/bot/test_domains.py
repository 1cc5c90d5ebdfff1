"""Tests for bot.domains: every rule of the Domains box, by example and by property."""

from __future__ import annotations

import re

import idna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from publicsuffixlist import PublicSuffixList

from bot.domains import Domain, display_name, parse_domain, parse_domains
from bot.errors import ValidationError

FAST = settings(max_examples=200, deadline=None)


def problem(text: str, *, allow_wildcard: bool = True) -> str:
    """Return the message parse_domain raises for ``text`` (failing if it raises none)."""
    with pytest.raises(ValidationError) as caught:
        parse_domain(text, allow_wildcard=allow_wildcard)
    assert caught.value.field == "domains"
    return str(caught.value)


def problems(text: str, *, count: int = 1, kind: str = "multi", product: str = "dv") -> list[str]:
    """Return the lines of the message parse_domains raises (failing if it raises none)."""
    with pytest.raises(ValidationError) as caught:
        parse_domains(text, expected_count=count, domain_type=kind, product=product)
    assert caught.value.field == "domains"
    return str(caught.value).split("\n")


# --- one name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "ascii"),
    [
        ("example.com", "example.com"),
        ("  www.Example.COM  ", "www.example.com"),
        ("example.com.", "example.com"),
        ("Bücher.Example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        ("faß.de", "xn--fa-hia.de"),  # IDNA 2008: ß is kept, not mapped to "ss"
        ("ＥＸＡＭＰＬＥ。com", "example.com"),  # full-width forms and ideographic dot map
        ("例え.テスト.jp", "xn--r8jz45g.xn--zckzah.jp"),
        ("a-b.c1.example.co.uk", "a-b.c1.example.co.uk"),
        ("x.github.io", "x.github.io"),  # private PSL entries are someone's domain
        ("*.example.com", "*.example.com"),
        ("*.bücher.de", "*.xn--bcher-kva.de"),
        ("123.example.com", "123.example.com"),
    ],
)
def test_valid_names_are_stored_as_a_labels(typed: str, ascii: str) -> None:
    domain = parse_domain(typed, allow_wildcard=True)
    assert domain == Domain(ascii=ascii, display=typed.strip().removesuffix("."))


def test_display_keeps_what_was_typed_without_the_trailing_dot() -> None:
    assert parse_domain(" Bücher.Example. ", allow_wildcard=False).display == "Bücher.Example"


def test_wildcard_property() -> None:
    assert parse_domain("*.example.com", allow_wildcard=True).wildcard
    assert not parse_domain("www.example.com", allow_wildcard=True).wildcard


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("exa mple.com", "“exa mple.com”: spaces are not allowed in a domain name"),
        ("exa\tmple.com", "spaces are not allowed"),
        ("a_b.example.com", "only letters, digits and hyphens are allowed (found “_”)"),
        ("a!b$.com", "(found “!”, “$”)"),
        ("a.example.com, b.example.com", "put each domain on a line of its own"),
        ("a.example.com;b.example.com", "put each domain on a line of its own"),
        ("example.com,", "put each domain on a line of its own"),
        ("a.example.com b.example.com", "put each domain on a line of its own"),
        ("admin@example.com", "enter the domain name only, not an email address"),
        ("a\x00b.com", "found U+0000"),
        ("-www.example.com", "cannot start or end with a hyphen (“-www”)"),
        ("www-.example.com", "cannot start or end with a hyphen (“www-”)"),
        ("ab--cd.example.com", "“ab--cd” has “--” as its third and fourth characters"),
        ("xn--zz.example.com", "“xn--zz” is not valid punycode"),
        ("xn--abc.com", "“xn--abc” is not valid punycode"),
        ("a..example.com", "empty part"),
        (".example.com", "empty part"),
        ("example.com..", "empty part"),
        ("a" * 64 + ".com", "is 64 characters long; the limit is 63"),
        ("äöüéèçñåøæ" * 6 + ".de", "characters long in its encoded form (“xn--"),
        (".".join(["a" * 63] * 4) + ".com", "the name is 259 characters long; the limit is 253"),
        ("192.168.10.1", "IP addresses cannot be used"),
        ("2001:db8::1", "IP addresses cannot be used"),
        ("[2001:db8::1]", "IP addresses cannot be used"),
        ("[::1]", "IP addresses cannot be used"),
        ("fe80::1%eth0", "IP addresses cannot be used"),
        ("10.0.0.256", "looks like an IP address"),
        ("１９２.１６８.０.１", "looks like an IP address"),
        ("http://example.com/path", "enter the host name only: example.com"),
        ("https://www.Example.com:8443/a?b=c", "enter the host name only: www.example.com"),
        ("example.com/path", "enter the host name only: example.com"),
        ("example.com:443", "enter the host name only: example.com"),
        ("http://exa_mple.com/", "enter the host name only"),
        ("com", "“com” is a public suffix that nobody can register; enter a name under it"),
        ("co.uk", "“co.uk” is a public suffix that nobody can register"),
        ("kawasaki.jp", "public suffix"),  # a wildcard rule in the list: *.kawasaki.jp
        ("*.co.uk", "*.co.uk would cover every domain under the public suffix “co.uk”"),
        ("*.com", "public suffix “com”"),
        ("intranet", "enter the full domain name, such as intranet.example.com"),
        ("server.local", "internal name"),
        ("localhost", "internal name"),
        ("w*.example.com", "a wildcard must be the whole leftmost part of the name"),
        ("a.*.example.com", "a wildcard must be the whole leftmost part"),
        ("*.*.example.com", "a wildcard must be the whole leftmost part"),
        ("*", "a wildcard needs a domain after it"),
        ("a\u0080b.com", "cannot be used in a domain name"),
    ],
)
def test_invalid_names_say_what_is_wrong(typed: str, expected: str) -> None:
    assert expected in problem(typed)


def test_message_quotes_the_name_as_typed() -> None:
    assert problem("  exa mple.com ").startswith("“exa mple.com”: ")


def test_wildcard_refused_when_not_allowed() -> None:
    assert "a wildcard (*) is not allowed here" in problem("*.example.com", allow_wildcard=False)


def test_blank_name() -> None:
    assert problem("   ") == "Enter a domain name, such as example.com."


def test_long_lines_are_shortened_in_messages() -> None:
    message = problem("a b" + "c" * 500 + ".com")
    assert "…" in message and len(message) < 200


def test_lone_surrogates_are_refused_and_not_echoed() -> None:
    message = problem("a\ud800b.com")
    assert "U+D800 cannot be used" in message
    message.encode("utf-8")  # the message must survive being sent to Slack


def test_display_name() -> None:
    assert display_name("xn--bcher-kva.example") == "bücher.example"
    assert display_name("*.xn--bcher-kva.de") == "*.bücher.de"
    assert display_name("example.com") == "example.com"
    assert display_name("xn--zz.com") == "xn--zz.com"  # falls back when it will not decode


# --- the whole box ---------------------------------------------------------------------------


def test_list_in_the_order_typed_ignoring_blank_lines() -> None:
    text = "\n  www.example.com \n\nBücher.Example\r\n*.example.org\n\n"
    domains = parse_domains(text, expected_count=3, domain_type="wildcard", product="ov")
    assert [d.ascii for d in domains] == [
        "www.example.com",
        "xn--bcher-kva.example",
        "*.example.org",
    ]
    assert [d.display for d in domains] == ["www.example.com", "Bücher.Example", "*.example.org"]


def test_single_domain() -> None:
    [domain] = parse_domains("example.com", expected_count=1, domain_type="single", product="ev")
    assert domain.ascii == "example.com"


@pytest.mark.parametrize(
    ("count", "entered", "expected"),
    [
        (5, 3, "You bought 5 domains and entered 3: add 2 more."),
        (2, 1, "You bought 2 domains and entered 1: add 1 more."),
        (1, 3, "You bought 1 domain and entered 3: remove 2."),
        (3, 4, "You bought 3 domains and entered 4: remove 1."),
    ],
)
def test_count_must_match_what_was_bought(count: int, entered: int, expected: str) -> None:
    text = "\n".join(f"host{i}.example.com" for i in range(entered))
    kind = "single" if count == 1 else "multi"
    assert problems(text, count=count, kind=kind) == [expected]


def test_empty_box() -> None:
    assert problems(" \n\n", count=2) == ["Enter the domain names, one per line."]


def test_every_problem_is_listed_with_its_line_number() -> None:
    text = "example.com\n\nexa mple.com\nEXAMPLE.com.\nhttp://b.example.com/x\nco.uk\n"
    assert problems(text, count=5) == [
        "Line 3, “exa mple.com”: spaces are not allowed in a domain name",
        "Line 4, “EXAMPLE.com.”: repeats line 1",
        "Line 5, “http://b.example.com/x”: enter the host name only: b.example.com",
        "Line 6, “co.uk”: “co.uk” is a public suffix that nobody can register; "
        "enter a name under it, such as example.co.uk",
    ]


def test_count_comes_first_and_counts_bad_lines_too() -> None:
    lines = problems("a.example.com\nb_.example.com", count=3)
    assert lines[0] == "You bought 3 domains and entered 2: add 1 more."
    assert lines[1].startswith("Line 2, “b_.example.com”: only letters")


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("example.com", "Example.COM"),
        ("example.com", "example.com."),
        ("bücher.example", "xn--bcher-kva.example"),
        ("Bücher.example", "BÜCHER.EXAMPLE"),
        ("example.com", "ｅｘａｍｐｌｅ．ｃｏｍ"),
        ("*.example.com", "*.EXAMPLE.com"),
    ],
)
def test_duplicates_found_after_case_folding_and_idna_mapping(first: str, again: str) -> None:
    text = f"{first}\nother.example.com\n{again}"
    assert problems(text, count=3, kind="wildcard") == [f"Line 3, “{again}”: repeats line 1"]


def test_wildcard_and_its_base_are_different_names() -> None:
    text = "*.example.com\nexample.com"
    assert len(parse_domains(text, expected_count=2, domain_type="wildcard", product="dv")) == 2


@pytest.mark.parametrize(
    ("kind", "product", "expected"),
    [
        ("single", "dv", "needs a wildcard certificate and this order is for a single-domain"),
        ("multi", "ov", "needs a wildcard certificate and this order is for a multi-domain"),
        ("wildcard", "ev", "EV certificates cannot cover wildcards"),
        ("multi", "ev", "EV certificates cannot cover wildcards"),
    ],
)
def test_wildcards_only_on_wildcard_products_never_on_ev(
    kind: str, product: str, expected: str
) -> None:
    [line] = problems("*.example.com", count=1, kind=kind, product=product)
    assert line.startswith("Line 1, “*.example.com”: ")
    assert expected in line


def test_misplaced_wildcard_on_a_non_wildcard_product_says_the_product() -> None:
    [line] = problems("w*.example.com", count=1, kind="single")
    assert "needs a wildcard certificate" in line


@pytest.mark.parametrize(
    ("count", "kind", "product"),
    [(2, "single", "dv"), (0, "multi", "dv"), (1, "san", "dv"), (1, "multi", "xv")],
)
def test_programming_errors_are_not_validation_errors(count: int, kind: str, product: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_domains("example.com", expected_count=count, domain_type=kind, product=product)
    assert not isinstance(caught.value, ValidationError)


# --- properties ------------------------------------------------------------------------------

_LDH = "abcdefghijklmnopqrstuvwxyz0123456789"
ldh_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda s: s[2:4] != "--" and not s.isdigit()
)
# Letters that IDNA 2008 accepts as they are (no mapping), to build U-labels from.
u_label = st.text(alphabet="abcdeäöüßéèçñåøæ", min_size=1, max_size=15)
suffix = st.sampled_from(["com", "org", "de", "co.uk", "com.au", "jp", "example"])


_PSL = PublicSuffixList(only_icann=True)


@st.composite
def valid_names(draw: st.DrawFn) -> str:
    """A registrable name made of ASCII and Unicode labels, in lowercase."""
    labels = draw(st.lists(st.one_of(ldh_label, u_label), min_size=1, max_size=4))
    name = ".".join([*labels, draw(suffix)])
    # A random label can land on a public suffix ("co.jp"); those are tested by example.
    return draw(st.just(name).filter(lambda n: _PSL.privatesuffix(idna.encode(n).decode())))


def _upper(text: str) -> str:
    # "ß".upper() is "SS", a different name under IDNA 2008; leave it as it is.
    return "".join(c if c == "ß" else c.upper() for c in text)


def _mixed_case(data: st.DataObject, text: str) -> str:
    flags = data.draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(_upper(c) if up else c for c, up in zip(text, flags, strict=True))


@FAST
@given(valid_names(), st.booleans())
def test_valid_names_round_trip(name: str, dot: bool) -> None:
    domain = parse_domain(name + ("." if dot else ""), allow_wildcard=False)
    assert domain.ascii == idna.encode(name).decode("ascii")
    assert re.fullmatch(r"[a-z0-9.-]+", domain.ascii)
    assert display_name(domain.ascii) == name
    assert parse_domain(domain.ascii, allow_wildcard=False) == Domain(domain.ascii, domain.ascii)


@FAST
@given(st.text(max_size=80))
def test_parse_domain_raises_only_validation_errors(text: str) -> None:
    try:
        domain = parse_domain(text, allow_wildcard=True)
    except ValidationError as error:
        assert str(error)
        return
    assert domain.ascii.isascii() and len(domain.ascii) <= 253


@FAST
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_parse_domains_raises_only_validation_errors(text: str) -> None:
    try:
        parse_domains(text, expected_count=2, domain_type="wildcard", product="dv")
    except ValidationError as error:
        assert error.field == "domains"


@FAST
@given(
    st.lists(valid_names(), min_size=1, max_size=5, unique_by=lambda n: idna.encode(n)), st.data()
)
def test_duplicates_are_found_in_any_form(names: list[str], data: st.DataObject) -> None:
    picked = data.draw(st.integers(0, len(names) - 1))
    original = names[picked]
    # The repeat is written another way: other case, or its A-label form.
    again = data.draw(st.sampled_from([_upper(original), idna.encode(original).decode()]))
    again = _mixed_case(data, again) if again.isascii() else again
    lines = [*names, again]
    [line] = problems("\n".join(lines), count=len(lines))
    # Long lines are shortened in the message, so compare the start of the quoted line.
    assert line.startswith(f"Line {len(lines)}, “{again[:50]}")
    assert line.endswith(f"”: repeats line {picked + 1}")


@FAST
@given(st.integers(1, 12), st.integers(1, 12))
def test_count_errors_name_the_right_number(bought: int, entered: int) -> None:
    text = "\n\n".join(f"h{i}.example.org" for i in range(entered))
    kind = "single" if bought == 1 else "multi"
    if bought == entered:
        assert (
            len(parse_domains(text, expected_count=bought, domain_type=kind, product="dv"))
            == bought
        )
        return
    [line] = problems(text, count=bought, kind=kind)
    difference = abs(bought - entered)
    verb = f"add {difference} more" if entered < bought else f"remove {difference}"
    assert line.endswith(f"and entered {entered}: {verb}.")
    assert line.startswith(f"You bought {bought} domain")
