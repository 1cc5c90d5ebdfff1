"""Tests for the Complete form's names beside the box: a file read, kept names, and the box."""

from __future__ import annotations

from typing import Any

import pytest

from bot.application_form import (
    DOMAINS,
    DOMAINS_FILE,
    SAVED_NAMES,
    TEXT_BOX,
    UploadedFile,
    check_application,
    fit_in_box,
    names_file,
)
from bot.domains import Listed
from bot.errors import FieldErrors

LONG = [f"host{i:03d}.regional-services.example-corp.com" for i in range(250)]  # 42 each
FORM = {
    "applicant_name": "Alice Example",
    "applicant_email": "admin@example.com",
    "applicant_phone": "+44 20 7946 0958",
    "csr_method": "system",
}


def check(raw: dict[str, Any], *, count: int) -> list[str]:
    application = check_application(
        {**FORM, **raw}, product="dv", domain_type="multi", domain_count=count, saved_orgs={}
    )
    return [d.ascii for d in application.domains]


def field_errors(raw: dict[str, Any], *, count: int) -> dict[str, str]:
    with pytest.raises(FieldErrors) as caught:
        check(raw, count=count)
    return caught.value.errors


def test_names_fitting_the_box_go_back_into_it_where_they_can_be_edited() -> None:
    kept = Listed(label="names.txt", entries=((1, "b.example.com"), (2, "A.example.com")))
    values, still = fit_in_box({DOMAINS: "a.example.com\n\n", "other": "x"}, kept)
    assert still is None
    assert values == {DOMAINS: "a.example.com\nb.example.com", "other": "x"}


def test_names_too_many_for_the_box_stay_kept_and_the_typed_ones_stay_in_it() -> None:
    kept = Listed(label="names.txt", entries=tuple(enumerate(LONG, start=1)))
    values, still = fit_in_box({DOMAINS: "typed.example.com"}, kept)
    assert still is kept and values[DOMAINS] == "typed.example.com"


def test_a_saved_list_longer_than_the_box_is_kept_instead_of_prefilled() -> None:
    saved = "\n".join(LONG)
    assert len(saved) > TEXT_BOX
    values, kept = fit_in_box({DOMAINS: saved}, None)
    assert values[DOMAINS] == "" and kept is not None and kept.label == SAVED_NAMES
    assert [n for _, n in kept.entries] == LONG
    # Exactly the box's size still fits.
    full = "\n".join(LONG)[:TEXT_BOX]
    assert fit_in_box({DOMAINS: full}, None) == ({DOMAINS: full}, None)


def test_a_file_is_read_into_names_or_says_why_not() -> None:
    found = names_file(UploadedFile("names.csv", content=b"domain\na.example.com\n"), expected=2)
    assert found == Listed(label="names.csv", entries=((2, "a.example.com"),))
    broken = names_file(UploadedFile("x.txt", problem="certdesk could not read x.txt"), expected=2)
    assert isinstance(broken, UploadedFile) and broken.problem == "certdesk could not read x.txt"
    binary = names_file(UploadedFile("n" * 200 + ".txt", content=b"\x00\x01"), expected=2)
    assert isinstance(binary, UploadedFile) and binary.problem
    assert binary.problem.startswith("n" * 80 + " is not a text file")  # the name shortened


def test_a_form_with_typed_names_and_a_file_gives_all_of_them() -> None:
    listed = Listed(label="names.txt", entries=tuple(enumerate(LONG[1:], start=1)))
    assert check({DOMAINS: LONG[0], DOMAINS_FILE: listed}, count=250) == LONG


def test_a_file_that_could_not_be_read_is_said_on_the_file_input_alone() -> None:
    unread = UploadedFile("names.txt", problem="certdesk could not read names.txt: why.")
    assert field_errors({DOMAINS: "", DOMAINS_FILE: unread}, count=3) == {
        DOMAINS_FILE: "certdesk could not read names.txt: why."
    }
    # Slack's raw file objects that were never read are not taken for names.
    assert field_errors({DOMAINS_FILE: [{"id": "F1"}]}, count=3) == {
        DOMAINS_FILE: "certdesk could not read the attached file: attach it again."
    }


def test_other_fields_are_checked_beside_the_files_names() -> None:
    listed = Listed(label="names.txt", entries=((1, "a.example.com"),))
    errors = field_errors({DOMAINS_FILE: listed, "applicant_email": "nope"}, count=2)
    assert set(errors) == {DOMAINS_FILE, "applicant_email"}
    assert "add 1 more" in errors[DOMAINS_FILE]


def test_an_empty_form_for_several_names_says_a_file_will_do() -> None:
    assert field_errors({DOMAINS: " \n"}, count=3) == {
        DOMAINS: "Enter the domain names, one per line, or attach them as a file below."
    }


def test_a_full_box_that_is_still_short_points_to_the_file() -> None:
    typed = "\n".join(LONG[:69])  # what fits: 69 of 250
    assert len(typed) <= TEXT_BOX
    message = field_errors({DOMAINS: typed}, count=250)[DOMAINS]
    assert message.split("\n") == [
        "You bought 250 domains and entered 69: add 181 more.",
        "This box holds 3,000 characters: attach all the names as a .txt or .csv file below "
        "instead.",
    ]
    short = field_errors({DOMAINS: "\n".join(LONG[:3])}, count=250)[DOMAINS]
    assert "file" not in short
