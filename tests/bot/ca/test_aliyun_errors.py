"""Every failure of the CAS API becomes a CAError that says what to do, and leaks no secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.aliyun import ACCESS_KEY_ID, ACCESS_KEY_SECRET, backend, standin, submission
from support.forms import ORGANIZATION

from bot.ca.aliyun import AliyunBackend, Transport
from bot.ca.base import CAState, MemoryStateStore
from bot.crypto.csr import make_csr
from bot.crypto.keys import generate_key
from bot.devtools.aliyun import CasStandIn
from bot.devtools.ports import free_port
from bot.errors import CAError

WRONG_SECRET = "WrongSecretValue00000000000099"


@pytest.fixture
def cas(tmp_path: Path):  # type: ignore[no-untyped-def]
    with standin(tmp_path) as s:
        s.add_instance("cas_dv-cn-1", "DV", full_domains=2)
        yield s


def _dv(**fields: object):  # type: ignore[no-untyped-def]
    domains = fields.pop("domains", ("example.com",))
    csr = make_csr(generate_key("p256"), list(domains))  # type: ignore[arg-type]
    return submission(
        **{"purchase_ref": "cas_dv-cn-1", "domains": domains, "csr_pem": csr, **fields}
    )


def test_a_wrong_secret_names_the_credential_and_nothing_is_submitted(cas: CasStandIn) -> None:
    with pytest.raises(CAError) as raised:
        backend(cas, secret=WRONG_SECRET).submit(_dv())
    message = str(raised.value)
    assert not raised.value.retryable
    assert "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in message and ACCESS_KEY_ID in message
    assert "SignatureDoesNotMatch" in message and WRONG_SECRET not in message
    assert cas.calls == []  # no request was accepted: nothing reached the instance
    assert cas.cas.instances["cas_dv-cn-1"].status == "inactive"


def test_an_unknown_access_key_id_names_that_variable(cas: CasStandIn) -> None:
    with pytest.raises(CAError) as raised:
        backend(cas, key_id="LTAI5tNobodyKnowsThis").purchases()
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in str(raised.value)
    assert "InvalidAccessKeyId.NotFound" in str(raised.value)
    assert not raised.value.retryable


def test_throttling_is_retryable_and_passes(cas: CasStandIn) -> None:
    ca = backend(cas)
    cas.throttle("ListInstances")
    with pytest.raises(CAError) as raised:
        ca.purchases()
    assert raised.value.retryable
    assert "Throttling.User" in str(raised.value) and "try" in str(raised.value)
    assert [p.ref for p in ca.purchases()] == ["cas_dv-cn-1"]


def test_a_server_error_is_retryable(cas: CasStandIn) -> None:
    cas.inject("GetInstanceDetail", "ServiceUnavailable", "The service is unavailable.", status=503)
    with pytest.raises(CAError) as raised:
        backend(cas).status("cas_dv-cn-1")
    assert raised.value.retryable


def test_a_missing_ram_permission_names_the_action_to_grant(cas: CasStandIn) -> None:
    cas.inject(
        "UpdateInstance",
        "Forbidden.RAM",
        "User not authorized to operate on the specified resource.",
        status=403,
    )
    with pytest.raises(CAError) as raised:
        backend(cas).submit(_dv())
    assert "yundun-cert:UpdateInstance" in str(raised.value)
    assert not raised.value.retryable
    assert "ApplyCertificate" not in cas.actions()


def test_a_domain_the_ca_refuses_is_a_sentence_and_nothing_is_applied(cas: CasStandIn) -> None:
    cas.cas.refused_domains.add("blocked.example.com")
    with pytest.raises(CAError) as raised:
        backend(cas).submit(_dv(domains=("blocked.example.com",)))
    assert "refused the application's domains" in str(raised.value)
    assert "blocked.example.com" in str(raised.value)
    assert not raised.value.retryable
    assert "ApplyCertificate" not in cas.actions()


def test_too_many_domains_for_the_instance_is_refused(cas: CasStandIn) -> None:
    with pytest.raises(CAError) as raised:
        backend(cas).submit(_dv(domains=("a.example.com", "b.example.com", "c.example.com")))
    assert "exceeds the quantity bought" in str(raised.value)


def test_an_instance_in_the_wrong_state_is_refused(cas: CasStandIn) -> None:
    cas.add_instance("cas_dv-cn-9", "DV", full_domains=1, status="normal")
    with pytest.raises(CAError) as raised:
        backend(cas).submit(_dv(purchase_ref="cas_dv-cn-9"))
    assert "status is normal" in str(raised.value) and "console" in str(raised.value)
    assert "UpdateInstance" not in cas.actions()


def test_the_wrong_product_is_refused(cas: CasStandIn) -> None:
    with pytest.raises(CAError, match="bought for a DV certificate, not OV"):
        backend(cas).submit(
            _dv(product="ov", organization=ORGANIZATION, registration_number="GB0123456")
        )


def test_an_unreachable_endpoint_is_retryable() -> None:
    transport = Transport(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        endpoint=f"http://127.0.0.1:{free_port()}",
        region="cn-hangzhou",
    )
    with pytest.raises(CAError) as raised:
        AliyunBackend(transport, store=MemoryStateStore()).purchases()
    assert raised.value.retryable and "Could not reach Alibaba Cloud" in str(raised.value)


def test_the_secret_never_reaches_the_logs(
    cas: CasStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ca = backend(cas)
    ref = ca.submit(_dv())
    ca.status(ref)
    with pytest.raises(CAError):
        backend(cas, secret=WRONG_SECRET).status(ref)
    cas.throttle("*")
    with pytest.raises(CAError):
        ca.status(ref)
    assert caplog.records  # the calls were logged...
    for secret in (ACCESS_KEY_SECRET, WRONG_SECRET):
        assert secret not in caplog.text  # ...without the secret


def test_a_lost_answer_to_apply_is_recognised_on_retry(cas: CasStandIn) -> None:
    ca = backend(cas)
    sub = _dv()
    cas.lose_answer("ApplyCertificate")
    with pytest.raises(CAError) as raised:
        ca.submit(sub)
    assert raised.value.retryable
    assert cas.cas.instances["cas_dv-cn-1"].status == "pending"  # the CA did accept it
    assert ca.submit(sub) == "cas_dv-cn-1"  # the retry sees its own application...
    assert [c.action for c in cas.refused + cas.calls].count("ApplyCertificate") == 1  # ...once
    assert ca.status("cas_dv-cn-1").state in (CAState.REVIEWING, CAState.AWAITING_VERIFICATION)


def test_another_orders_pending_instance_is_not_taken_over(cas: CasStandIn) -> None:
    ca = backend(cas)
    ca.submit(_dv())
    with pytest.raises(CAError, match="status is pending"):
        ca.submit(_dv(order_ref="CD-0002"))
