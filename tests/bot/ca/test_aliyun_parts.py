"""Pure parts of the aliyun backend and the stand-in's signature check."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

from bot.ca.aliyun.mapping import instance_status, validation
from bot.ca.base import CAState
from bot.devtools.aliyun import CasStandIn
from bot.devtools.aliyun.signature import canonical_query, canonical_request, sign


def _entry(**fields: str) -> SimpleNamespace:
    base = {"domain": "www.example.com", "root_domain": "example.com", "validation_type": "TXT"}
    base.update(fields)
    return SimpleNamespace(**{"validation_key": "", "validation_value": "v", **base})


def test_a_dns_record_name_is_made_absolute_from_key_and_root_domain() -> None:
    assert (
        validation(_entry(validation_key="_dnsauth.www")).record_name == "_dnsauth.www.example.com"
    )
    assert validation(_entry(validation_key="@")).record_name == "example.com"
    # A key already absolute stays as given.
    given = _entry(validation_key="_dnsauth.www.example.com")
    assert validation(given).record_name == "_dnsauth.www.example.com"
    cname = validation(_entry(validation_key="_certum", validation_type="CNAME"))
    assert (cname.method, cname.record_type, cname.record_name) == (
        "dns-01",
        "CNAME",
        "_certum.example.com",
    )


def test_an_http_validation_is_a_url_and_content() -> None:
    v = validation(
        _entry(validation_type="HTTP", validation_key="/.well-known/pki-validation/a.txt")
    )
    assert (v.method, v.url, v.content) == (
        "http-01",
        "http://www.example.com/.well-known/pki-validation/a.txt",
        "v",
    )


def test_instance_states_in_certdesk_words() -> None:
    def detail(**f: object) -> SimpleNamespace:
        values: dict = {"pending_result": "", "domain_validation_list": [], "certificate_id": None}
        return SimpleNamespace(**{**values, "certificate_status": "", **f})

    assert instance_status(detail(status="pending"), applied=True).state == CAState.REVIEWING
    issued = detail(status="normal", certificate_id=7, certificate_status="issued")
    assert instance_status(issued, applied=True).state == CAState.ISSUED
    rejected = instance_status(detail(status="inactive", pending_result="Bad org."), applied=True)
    assert rejected.state == CAState.FAILED and "Bad org" in (rejected.reason or "")
    withdrawn = instance_status(detail(status="inactive"), applied=True)
    assert withdrawn.state == CAState.CANCELLED
    assert "buy a new one" in (instance_status(detail(status="expired"), applied=True).reason or "")


def test_canonical_query_encodes_as_rfc3986_and_sorts() -> None:
    pairs = [("b", "x y*~"), ("ContactIdList.1", "7"), ("a", "+/=")]
    assert canonical_query(pairs) == "ContactIdList.1=7&a=%2B%2F%3D&b=x%20y%2A~"


def _signed_headers(body: bytes, *, nonce: str, query: list[tuple[str, str]]) -> dict[str, str]:
    from datetime import UTC, datetime

    headers = {
        "host": "127.0.0.1:1",
        "x-acs-action": "ListInstances",
        "x-acs-version": "2020-04-07",
        "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
    }
    names = sorted(headers)
    canonical = canonical_request(
        method="POST",
        path="/",
        query=query,
        headers=headers,
        signed_headers=names,
        payload_hash=headers["x-acs-content-sha256"],
    )
    signature = sign("secretsecret01", canonical)
    headers["authorization"] = (
        f"ACS3-HMAC-SHA256 Credential=LTAIkey0001,SignedHeaders={';'.join(names)},"
        f"Signature={signature}"
    )
    return headers


def test_the_stand_in_refuses_tampering_and_replays(tmp_path: Path) -> None:
    cas = CasStandIn(tmp_path, credentials={"LTAIkey0001": "secretsecret01"})
    try:
        headers = _signed_headers(b"", nonce="n1", query=[("Status", "inactive")])
        status, body = cas.answer(path="/?Status=inactive", headers=headers, body=b"")
        assert status == 200 and body["TotalCount"] == 0
        status, body = cas.answer(path="/?Status=inactive", headers=headers, body=b"")
        assert (status, body["Code"]) == (400, "SignatureNonceUsed")
        headers = _signed_headers(b"", nonce="n2", query=[("Status", "inactive")])
        status, body = cas.answer(path="/?Status=pending", headers=headers, body=b"")
        assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")
        headers = _signed_headers(b"", nonce="n3", query=[])
        status, body = cas.answer(path="/", headers=headers, body=b"x")
        assert (status, body["Code"]) == (400, "ContentSHA256NotMatched")
        unsigned = {k: v for k, v in headers.items() if k != "authorization"}
        status, body = cas.answer(path="/", headers=unsigned, body=b"")
        assert (status, body["Code"]) == (400, "IncompleteSignature")
        assert cas.calls[0].action == "ListInstances" and len(cas.calls) == 1
    finally:
        cas.stop()
