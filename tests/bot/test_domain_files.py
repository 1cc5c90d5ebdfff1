"""Tests for names given in a file: reading .txt/.csv, and combining them with the box."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domains import FIELD, FILE_FIELD, Listed, names_in_file, parse_domains
from bot.errors import FieldErrors, ValidationError

FAST = settings(max_examples=200, deadline=None)


def names(content: bytes, *, expected: int = 250) -> list[tuple[int, str]]:
    return list(names_in_file(content, label="names.txt", expected=expected).entries)


def refused(content: bytes, *, expected: int = 250) -> str:
    with pytest.raises(ValidationError) as caught:
        names_in_file(content, label="names.txt", expected=expected)
    assert caught.value.field == FILE_FIELD
    return str(caught.value)


def combined(text: str, entries: list[tuple[int, str]], *, count: int) -> list[str]:
    listed = Listed(label="names.txt", entries=tuple(entries))
    found = parse_domains(
        text, expected_count=count, domain_type="multi", product="dv", attached=listed
    )
    return [d.ascii for d in found]


def errors(text: str, entries: list[tuple[int, str]], *, count: int) -> dict[str, list[str]]:
    with pytest.raises(FieldErrors) as caught:
        combined(text, entries, count=count)
    return {k: v.split("\n") for k, v in caught.value.errors.items()}


# --- reading a file ---------------------------------------------------------------------------


def test_one_name_per_line_with_line_numbers_counting_blank_lines() -> None:
    content = b"a.example.com\r\n\r\n  b.example.com  \nc.example.com"
    assert names(content) == [(1, "a.example.com"), (3, "b.example.com"), (4, "c.example.com")]


def test_commas_semicolons_spaces_and_tabs_separate_names() -> None:
    content = b"a.example.com, b.example.com;c.example.com\td.example.com e.example.com\n"
    assert [n for _, n in names(content)] == [f"{x}.example.com" for x in "abcde"]


def test_a_csv_header_is_skipped_and_only_its_name_column_read() -> None:
    content = b'owner,Domain Name,notes\nalice,"a.example.com",x y\nbob,b.example.com,\n'
    assert names(content) == [(2, "a.example.com"), (3, "b.example.com")]
    assert names(b"hostname\nexample.com\n") == [(2, "example.com")]
    assert names(b"\n\nSAN\n\nexample.com\n") == [(5, "example.com")]


def test_a_first_line_that_is_not_a_header_is_a_name() -> None:
    # Not a known header word: kept, so the person hears what is wrong with it.
    assert names(b"servers\nexample.com\n")[0] == (1, "servers")
    assert names(b"example.com,owner\n") == [(1, "example.com"), (1, "owner")]


@pytest.mark.parametrize(
    "encoded",
    [
        "bücher.example\nexample.com".encode(),
        codecs.BOM_UTF8 + "bücher.example\nexample.com".encode(),
        "bücher.example\nexample.com".encode("utf-16"),  # a spreadsheet's "Unicode text"
    ],
)
def test_utf8_with_or_without_bom_and_utf16_are_read(encoded: bytes) -> None:
    assert [n for _, n in names(encoded)] == ["bücher.example", "example.com"]


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"PK\x03\x04\x14\x00\x06\x00",  # an .xlsx is a zip
        "bücher.example".encode("latin-1"),
        b"example.com\x00www.example.com",
        b"example.com\x1bwww.example.com",
    ],
)
def test_a_file_that_is_not_text_is_refused_in_words(content: bytes) -> None:
    assert refused(content).startswith("names.txt is not a text file.")
    assert "CSV UTF-8" in refused(content)


def test_an_empty_file_and_a_header_only_file_are_refused() -> None:
    for content in (b"", b"  \n\n ,, \n", b"domain\n"):
        assert refused(content) == (
            "names.txt holds no domain names: put them in it, one per line."
        )


def test_far_too_many_names_are_refused_before_any_is_checked() -> None:
    content = "\n".join(f"h{i}.example.com" for i in range(1000)).encode()
    assert refused(content, expected=250) == (
        "names.txt holds over 500 names and this order takes 250. "
        "Attach a file with just this order's names."
    )
    assert len(names(content, expected=950)) == 1000  # within the margin: counted later


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_give_names_or_a_validation_error(content: bytes) -> None:
    try:
        found = names(content)
    except ValidationError as exc:
        assert exc.field == FILE_FIELD
    else:
        assert found and all(n and not any(c.isspace() for c in n) for _, n in found)


# --- typed names and a file, together -----------------------------------------------------


def test_typed_names_come_first_and_names_given_twice_count_once() -> None:
    entries = [
        (1, "b.example.com"),
        (2, "A.EXAMPLE.COM"),
        (3, "c.example.com"),
        (4, "b.example.com"),
    ]
    assert combined("a.example.com", entries, count=3) == [
        "a.example.com",
        "b.example.com",
        "c.example.com",
    ]


def test_a_file_alone_gives_every_name() -> None:
    entries = [(i + 1, f"h{i}.example.com") for i in range(250)]
    assert len(combined("", entries, count=250)) == 250


def test_the_count_goes_on_the_file_and_says_where_the_names_came_from() -> None:
    entries = [(1, "b.example.com"), (2, "b.example.com"), (3, "c.example.com")]
    assert errors("a.example.com", entries, count=5) == {
        FILE_FIELD: [
            "You bought 5 domains and gave 3 different names (1 typed, 2 in names.txt): "
            "add 2 more. Names given twice are counted once."
        ]
    }
    assert errors("", entries[:1], count=2)[FILE_FIELD] == [
        "You bought 2 domains and gave 1 different name (1 in names.txt): add 1 more."
    ]


def test_each_problem_goes_on_the_input_it_came_from_with_its_line() -> None:
    entries = [(2, "good.example.com"), (7, "exa_mple.com"), (9, "localhost")]
    assert errors("ok.example.com\nhttp://x.example.com/", entries, count=5) == {
        FIELD: ["Line 2, “http://x.example.com/”: enter the host name only: x.example.com"],
        FILE_FIELD: [
            "Line 7 of names.txt, “exa_mple.com”: only letters, digits and hyphens are "
            "allowed (found “_”)",
            "Line 9 of names.txt, “localhost”: this is an internal name; a public CA cannot "
            "issue certificates for it",
        ],
    }


def test_only_the_first_dozen_bad_lines_are_listed() -> None:
    entries = [(i, f"bad{i}.localhost") for i in range(1, 31)]
    found = errors("", entries, count=30)[FILE_FIELD]
    assert len(found) == 13 and found[0].startswith("Line 1 of names.txt")
    assert found[-1] == "…and 18 more lines to correct in the file."


def test_long_bad_lines_are_listed_within_what_a_field_error_shows() -> None:
    entries = [(i, f"bad{i}-" + "x" * 70 + ".com/" + "p" * 100) for i in range(1, 31)]
    message = "\n".join(errors("", entries, count=30)[FILE_FIELD])
    assert len(message) <= 1700
    assert message.endswith("more lines to correct in the file.")


def test_a_wildcard_in_the_file_follows_the_products_rules() -> None:
    listed = Listed(label="names.csv", entries=((1, "*.example.com"), (2, "example.com")))
    with pytest.raises(FieldErrors) as caught:
        parse_domains("", expected_count=2, domain_type="multi", product="ev", attached=listed)
    assert "Line 1 of names.csv, “*.example.com”: EV certificates cannot" in str(
        caught.value.errors[FILE_FIELD]
    )


def test_kept_names_round_trip_through_json_and_junk_is_ignored() -> None:
    listed = Listed(label="names.txt", entries=((1, "a.example.com"), (3, "b.example.com")))
    again = Listed.from_data(listed.to_data())
    assert again == listed and again.digest == listed.digest
    other = Listed(label="names.txt", entries=((1, "a.example.com"),))
    assert other.digest != listed.digest
    for junk in (None, [], {"label": 3}, {"label": "x", "entries": [["1", "a"], [True, 2]]}):
        assert Listed.from_data(junk) is None
