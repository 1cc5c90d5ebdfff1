"""The simulated CA's verification page over real HTTP: form token, strict headers, refusals."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlencode

from support.app_fixtures import ALICE, Running
from support.journeys import complete_and_submit, register

from bot.ca.simulated import mailer
from bot.ca.simulated.verify_page import FORM_FIELD, FormTokens
from bot.demo import browser
from bot.orders.polling import poll_order
from storage import queries

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def awaiting_link(certdesk: Running) -> tuple[int, str]:
    """An order waiting for domain verification, and the link in its email."""
    ref = register(certdesk, ALICE)
    complete_and_submit(certdesk, ALICE, ref)
    certdesk.settle()
    order_id = int(ref[3:])
    poll_order(certdesk.services, order_id)
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.state == "awaiting_verification" and order.ca_ref
        ca_ref = order.ca_ref
    mail_dir = certdesk.services.ca.mail_dir  # type: ignore[attr-defined]
    return order_id, mailer.verification_links(mail_dir, ca_ref=ca_ref)[-1]


def state(certdesk: Running, order_id: int) -> str:
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        return order.state


def raw(url: str, data: bytes | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_a_post_without_the_form_token_is_refused_and_the_page_is_locked_down(
    start_certdesk,  # noqa: ANN001
) -> None:
    certdesk = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    order_id, link = awaiting_link(certdesk)

    status, headers, page = raw(link)
    assert status == 200 and f'name="{FORM_FIELD}"' in page
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy

    # What a page on another site can send: the link, but not the token it cannot read.
    for body in (
        b"",
        urlencode({FORM_FIELD: ""}).encode(),
        urlencode({FORM_FIELD: "x" * 43}).encode(),
    ):
        status, headers, page = raw(link, data=body)
        assert status == 403 and "refused" in page and "Open the link" in page
        assert headers.get("X-Frame-Options") == "DENY"
    assert state(certdesk, order_id) == "awaiting_verification"

    # The token of another link does not confirm this one.
    tokens: FormTokens = certdesk.services.ca.form_tokens  # type: ignore[attr-defined]
    other = urlencode({FORM_FIELD: tokens.token("SIM-0000000000.other")}).encode()
    assert raw(link, data=other)[0] == 403

    # A browser submits the form as served: confirmed.
    confirmed = browser.press_button(browser.open_page(link))
    assert confirmed.status == 200 and "confirmed" in confirmed.text
    poll_order(certdesk.services, order_id)
    assert state(certdesk, order_id) == "issued"


def test_every_page_carries_the_headers_and_unknown_links_are_gone(certdesk: Running) -> None:
    for path in ("/sim-ca/verify/SIM-NOPE.secret", "/nothing-here"):
        status, headers, _ = raw(certdesk.http.url + path)
        assert status in (404, 410)
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name) == value, (path, name)
    status, _, page = raw(certdesk.http.url + "/sim-ca/verify/SIM-NOPE.secret", data=b"x=1")
    assert status == 403  # no token: refused before the link is even looked up


def test_form_tokens_are_per_link_and_keyed_by_a_private_file(tmp_path) -> None:  # noqa: ANN001
    key_file = tmp_path / "sub" / "forms.key"
    tokens = FormTokens(key_file)
    one, two = tokens.token("SIM-A.one"), tokens.token("SIM-A.two")
    assert one != two and tokens.valid("SIM-A.one", one) and not tokens.valid("SIM-A.two", one)
    assert not tokens.valid("SIM-A.one", "")
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert FormTokens(key_file).token("SIM-A.one") == one  # the same key after a restart
    assert FormTokens(tmp_path / "other.key").token("SIM-A.one") != one
