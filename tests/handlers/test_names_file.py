"""Names attached to the Complete modal as a file, over signed HTTP through the emulator."""

from __future__ import annotations

from typing import Any

import pytest
from support.app_fixtures import ALICE, Running
from support.blockkit_limits import problems
from support.ca_flow import load_order
from support.forms import GOOD_DV
from support.journeys import open_complete
from support.large_orders import NAMES, initial_values, names_file, register_large

from bot.orders.polling import poll_order
from bot.views import ids
from storage.models import Draft

#: The Complete form with everything right but the domains.
FORM = {k: v for k, v in GOOD_DV.items() if k != ids.DOMAINS}


def submit(certdesk: Running, values: dict[str, Any]) -> dict:
    response = certdesk.slack.submit_view(ALICE, values)
    body = response.json()
    assert body is not None, (response.status, response.body)
    return body


def saved_names(certdesk: Running, ref: str) -> list[str]:
    return [d.name for d in load_order(certdesk.services, int(ref[3:])).domains]


def typed_on_screen(certdesk: Running) -> dict[str, Any]:
    """What the open modal holds now, as the person sees it."""
    view = certdesk.emulator.current_view(ALICE)
    assert view is not None
    state = view["state"]["values"]
    return {k: v[k].get("value", v[k].get("files")) for k, v in state.items()}


def test_typed_names_and_a_csv_file_are_combined_shown_and_saved(certdesk: Running) -> None:
    ref = register_large(certdesk, ALICE, count=12)
    attached = names_file(NAMES[:11] + [NAMES[3]], filename="hosts.csv", header="hostname")
    body = submit(certdesk, {**FORM, ids.DOMAINS: "extra.example.com", ids.DOMAINS_FILE: attached})
    assert body["response_action"] == "push", body
    confirm = certdesk.emulator.current_view(ALICE)
    assert confirm is not None and "*Domains (12)*" in str(confirm["blocks"])
    assert submit(certdesk, {}) == {"response_action": "clear"}
    assert saved_names(certdesk, ref) == ["extra.example.com", *NAMES[:11]]


TOO_BIG = {"filename": "big.txt", "content": b"example.com\n" * 6000}


@pytest.mark.parametrize(
    ("attached", "words"),
    [
        (names_file(NAMES[:5] + ["bad_name.example.com"] + NAMES[5:11]), "Line 6 of names.txt"),
        (names_file(NAMES[:5]), "gave 5 different names (5 in names.txt): add 7 more"),
        (names_file(NAMES[:100]), "names.txt holds over 62 names and this order takes 12"),
        ({"filename": "names.txt", "content": b"\x89PNG\r\n\x1a\n\x00"}, "is not a text file"),
        (TOO_BIG, "big.txt is too big (over 64 KB)"),
        ({"id": "F404", "name": "gone.txt"}, "certdesk could not read gone.txt"),
        (
            {"id": "F1", "name": "x.txt", "url_private_download": "https://x.example/x.txt"},
            "certdesk could not read x.txt: it is not stored on Slack",
        ),
        ([names_file(NAMES[:6]), names_file(NAMES[6:12])], "Attach just one file"),
    ],
)
def test_a_bad_file_gets_an_error_on_the_file_input_and_keeps_what_was_typed(
    certdesk: Running, attached: Any, words: str
) -> None:
    if isinstance(attached, dict) and attached.get("id") == "F404":  # listed, never handed over
        attached = {**attached, "url_private_download": f"{certdesk.emulator.base_url}/files/F404"}
    ref = register_large(certdesk, ALICE, count=12)
    body = submit(certdesk, {**FORM, ids.DOMAINS: "", ids.DOMAINS_FILE: attached})
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [ids.DOMAINS_FILE], body
    assert words in body["errors"][ids.DOMAINS_FILE]
    on_screen = typed_on_screen(certdesk)
    assert on_screen[ids.APPLICANT_NAME] == "Alice Example" and on_screen[ids.DOMAINS_FILE]
    assert load_order(certdesk.services, int(ref[3:])).domains == []


def test_250_names_from_a_file_are_kept_when_the_modal_is_closed_and_reopened(
    certdesk: Running,
) -> None:
    ref = register_large(certdesk, ALICE)
    body = submit(
        certdesk,
        {**FORM, ids.APPLICANT_PHONE: "020", ids.DOMAINS_FILE: names_file(NAMES)},
    )
    assert list(body["errors"]) == [ids.APPLICANT_PHONE]  # the file was fine
    certdesk.slack.close_view(ALICE)
    certdesk.settle()
    reopened = open_complete(certdesk, ALICE, ref)
    assert problems(reopened, surface="modal") == []
    assert initial_values(reopened)[ids.DOMAINS] is None  # 10,000 characters: not prefilled
    assert initial_values(reopened)[ids.APPLICANT_PHONE] == "020"
    assert "250 names from names.txt are kept" in str(reopened["blocks"])
    # Submitted without a new file, the kept names are the order's names.
    body = submit(certdesk, {ids.APPLICANT_PHONE: GOOD_DV[ids.APPLICANT_PHONE]})
    assert body["response_action"] == "push", body
    assert submit(certdesk, {}) == {"response_action": "clear"}
    assert saved_names(certdesk, ref) == NAMES


def test_kept_names_changed_elsewhere_are_not_submitted_unseen(certdesk: Running) -> None:
    ref = register_large(certdesk, ALICE)
    submit(certdesk, {**FORM, ids.APPLICANT_PHONE: "020", ids.DOMAINS_FILE: names_file(NAMES)})
    certdesk.slack.close_view(ALICE)
    certdesk.settle()
    open_complete(certdesk, ALICE, ref)
    # Another window attaches a different file meanwhile (the draft is the same order's).
    with certdesk.services.sessions.begin() as session:
        draft = session.get(Draft, int(ref[3:]))
        assert draft is not None
        data = dict(draft.data)
        data[ids.DOMAINS_FILE] = {"label": "other.txt", "entries": [[1, "other.example.com"]]}
        draft.data = data
    body = submit(certdesk, {ids.APPLICANT_PHONE: GOOD_DV[ids.APPLICANT_PHONE]})
    assert list(body["errors"]) == [ids.DOMAINS_FILE]
    assert "changed since this form was opened" in body["errors"][ids.DOMAINS_FILE]
    # Attaching the file again replaces whatever was kept.
    body = submit(certdesk, {ids.DOMAINS_FILE: names_file(NAMES)})
    assert body["response_action"] == "push", body
    assert submit(certdesk, {}) == {"response_action": "clear"}
    assert saved_names(certdesk, ref) == NAMES


def test_a_failed_250_name_order_reopens_with_its_names_kept_and_resubmits(
    certdesk: Running,
) -> None:
    services = certdesk.services
    ref = register_large(certdesk, ALICE)
    order_id = int(ref[3:])
    assert submit(certdesk, {**FORM, ids.DOMAINS_FILE: names_file(NAMES)})["response_action"]
    assert submit(certdesk, {}) == {"response_action": "clear"}
    certdesk.settle()
    ca_ref = load_order(services, order_id).ca_ref
    assert ca_ref
    services.ca.reject(ca_ref, "The CAA record of one domain names another CA.")  # type: ignore[attr-defined]
    poll_order(services, order_id)
    assert load_order(services, order_id).state == "failed"
    certdesk.settle()
    view = open_complete(certdesk, ALICE, ref)
    assert problems(view, surface="modal") == []
    assert initial_values(view)[ids.DOMAINS] is None
    assert "250 names from names.txt are kept" in str(view["blocks"])
    # One more name typed is refused by count, on the file input where the 250 are.
    body = submit(certdesk, {ids.DOMAINS: "one-more.example.com"})
    assert "remove 1" in body["errors"][ids.DOMAINS_FILE]
    body = submit(certdesk, {ids.DOMAINS: ""})
    assert body["response_action"] == "push", body
    assert submit(certdesk, {}) == {"response_action": "clear"}
    assert saved_names(certdesk, ref) == NAMES
    assert load_order(services, order_id).state == "submitted"
