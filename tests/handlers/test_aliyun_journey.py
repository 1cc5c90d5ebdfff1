"""certdesk on the aliyun backend, driven over signed HTTP, against the CAS stand-in.

The stand-in checks every call's ACS3 signature and speaks the CAS wire protocol; certdesk
talks to it through the real SDK. The tests publish exactly what certdesk showed the person.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from support.aliyun import ACCESS_KEY_ID, ACCESS_KEY_SECRET, standin
from support.app_fixtures import ALICE, BOB, Running, wait_for
from support.journeys import order_state

from bot.crypto import Sealed, key_matches_certificate, order_key_context
from bot.devtools.aliyun import CasStandIn
from bot.orders.reminding.sender import send_due
from bot.views import ids
from storage import queries
from storage.models import PrivateKey, Watcher, utcnow

APPLICANT = {
    ids.APPLICANT_NAME: "Alice Chen",
    ids.APPLICANT_EMAIL: "alice@example.com",
    ids.APPLICANT_PHONE: "+86 138 0013 8000",
}
ORG = {
    ids.ORG_LEGAL_NAME: "Example Widgets Ltd",
    ids.ORG_COUNTRY: "GB",
    ids.ORG_STATE: "Greater London",
    ids.ORG_CITY: "London",
    ids.ORG_STREET: "1 High Street",
    ids.ORG_POSTAL_CODE: "EC1A 1AA",
    ids.ORG_PHONE: "+44 20 7946 0000",
    ids.ORG_REGISTRATION_NUMBER: "GB0123456",
}


@pytest.fixture
def cas(tmp_path: Path) -> Iterator[CasStandIn]:
    with standin(tmp_path / "cas", validation_delay=0.1, withdraw_refusal=0.2) as server:
        yield server


def aliyun_certdesk(start_certdesk: Callable[..., Running], cas: CasStandIn) -> Running:
    return start_certdesk(
        CERTDESK_CA="aliyun",
        ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
        CERTDESK_ALIYUN_ENDPOINT=cas.endpoint,
    )


def open_new(running: Running, user: str) -> dict:
    """`/cert new`: the Loading… modal, replaced once the CA listed the purchases."""
    assert running.slack.slash_command(user, "new").status == 200
    running.settle()
    view = running.emulator.current_view(user)
    assert view is not None and view["callback_id"] == ids.PICK_PURCHASE
    assert "Loading" not in json.dumps(view)
    return view


def pick(running: Running, user: str, instance_id: str) -> int:
    """Pick ``instance_id`` in `/cert new`; return the new order's number from the DM."""
    view = open_new(running, user)
    assert instance_id in json.dumps(view)
    before = len([m for m in running.emulator.dms_to(user) if "registered" in m.text])
    response = running.slack.submit_view(user, {ids.PURCHASE_REF: instance_id})
    assert response.status == 200 and response.json() in (None, {}), response.body
    running.settle()
    dm = wait_for(
        lambda: [m for m in running.emulator.dms_to(user) if "registered" in m.text][before:],
        what="the registration DM",
    )
    return int(re.search(r"CD-(\d{4})", dm[-1].text).group(1))  # type: ignore[union-attr]


def complete(running: Running, user: str, order_id: int, values: dict[str, str]) -> dict:
    """Fill the Complete modal and confirm; return the modal as it was opened."""
    assert running.slack.slash_command(user, f"complete CD-{order_id:04d}").status == 200
    view = running.emulator.current_view(user)
    assert view is not None and view["callback_id"] == ids.COMPLETE
    body = running.slack.submit_view(user, values).json()
    assert body is not None and body["response_action"] == "push", body
    assert running.slack.submit_view(user, {}).json() == {"response_action": "clear"}
    running.settle()
    return view


def order_of(running: Running, order_id: int):  # noqa: ANN201 - a detached Order
    with running.services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        return order


def submitted_dm(running: Running, user: str, order_id: int):  # noqa: ANN201
    ref = f"CD-{order_id:04d}"
    return wait_for(
        lambda: [m for m in running.emulator.dms_to(user) if f"{ref} was submitted" in m.text],
        what="the submission DM",
    )[-1]


def poll(running: Running, order_id: int) -> None:
    from bot.orders.polling import poll_order

    poll_order(running.services, order_id)
    running.settle()


def test_dv_two_domains_picked_from_the_account_is_issued_after_publishing_the_records(
    start_certdesk: Callable[..., Running], cas: CasStandIn
) -> None:
    cas.add_instance("cas_dv-cn-aaa1", "DV", full_domains=2)
    cas.add_instance("cas_dv-cn-used", "DV", full_domains=1, status="normal")
    running = aliyun_certdesk(start_certdesk, cas)
    view = open_new(running, ALICE)
    listed = json.dumps(view)
    assert "cas_dv-cn-aaa1" in listed and "cas_dv-cn-used" not in listed
    assert "2 domains" in listed and "365 days" in listed and "multiple domains" in listed

    order_id = pick(running, ALICE, "cas_dv-cn-aaa1")
    order = order_of(running, order_id)
    assert (order.purchase_ref, order.product, order.domain_type) == (
        "cas_dv-cn-aaa1",
        "dv",
        "multi",
    )
    assert (order.domain_count, order.validity_days) == (2, 365)
    # Registered once: the account has nothing else unused, and says where to buy.
    again = json.dumps(open_new(running, ALICE))
    assert "no certificate that is bought" in again and "yundun.console.aliyun.com" in again
    running.slack.close_view(ALICE)
    with running.services.sessions.begin() as session:
        session.add(Watcher(order_id=order_id, user_id=BOB, added_by=ALICE))

    domains = ["example.com", "www.example.com"]
    modal = complete(
        running,
        ALICE,
        order_id,
        {
            ids.DOMAINS: "\n".join(domains),
            **APPLICANT,
            ids.CSR_METHOD: "system",
            ids.KEY_ALGORITHM: "p256",
        },
    )
    shown = json.dumps(modal)
    assert "Generated by Alibaba Cloud" in shown and "ECDSA P-384" not in shown
    actions = cas.actions()
    assert actions.index("UpdateInstance") < actions.index("ApplyCertificate")
    update = cas.last("UpdateInstance").params
    assert update["InstanceId"] == "cas_dv-cn-aaa1" and update["Domain"] == ",".join(domains)
    assert update["GenerateCsrMethod"] == "upload"
    csr = x509.load_pem_x509_csr(update["Csr"].encode())
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == domains
    assert order_of(running, order_id).csr_pem == update["Csr"]

    # The first DM after submission names the records exactly as the CA gave them.
    dm = submitted_dm(running, ALICE, order_id)
    given = cas.cas._GetInstanceDetail({"InstanceId": "cas_dv-cn-aaa1"})["DomainValidationList"]
    text = json.dumps(dm.blocks, ensure_ascii=False)
    assert len(given) == 2
    for record in given:
        name = f"{record['ValidationKey']}.{record['RootDomain']}"
        assert f'{name}  TXT  \\"{record["ValidationValue"]}\\"' in text, text
    watcher = [m for m in running.emulator.dms_to(BOB) if f"CD-{order_id:04d}" in m.text]
    assert watcher and given[0]["ValidationValue"] in json.dumps(watcher[-1].blocks)

    for record in given:
        cas.cas.publish(
            f"{record['ValidationKey']}.{record['RootDomain']}", record["ValidationValue"]
        )
    assert running.click(ALICE, ids.CHECK_NOW, value=str(order_id), message=dm).status == 200
    running.settle()
    assert order_state(running, f"CD-{order_id:04d}") == "issued"
    ref = f"CD-{order_id:04d}"
    chain_file = wait_for(
        lambda: [f for f in running.emulator.files if f.filename == f"{ref.lower()}.fullchain.pem"]
    )[0]
    assert running.emulator.dm_channel(ALICE) in chain_file.channels
    # The chain is bound to the CSR's key: the key certdesk made and sealed.
    with running.services.sessions.begin() as session:
        row = session.get(PrivateKey, order_id)
        assert row is not None and row.ciphertext is not None
        sealed = Sealed(key_id=row.key_id, nonce=row.nonce, ciphertext=row.ciphertext)
    key_pem = running.services.custody.open(sealed, context=order_key_context(order_id))
    assert key_matches_certificate(key_pem, chain_file.content)


def test_ov_company_record_rejection_reason_and_resubmission(
    start_certdesk: Callable[..., Running], cas: CasStandIn
) -> None:
    cas.add_instance("cas_ov-cn-bbb2", "OV", full_domains=1)
    running = aliyun_certdesk(start_certdesk, cas)
    order_id = pick(running, ALICE, "cas_ov-cn-bbb2")
    ref = f"CD-{order_id:04d}"
    values = {
        ids.DOMAINS: "shop.example.com",
        **APPLICANT,
        **ORG,
        ids.CSR_METHOD: "system",
        ids.KEY_ALGORITHM: "rsa2048",
    }
    modal = complete(running, ALICE, order_id, values)
    assert ids.ORG_REGISTRATION_NUMBER in json.dumps(modal)
    (company,) = cas.cas.companies.values()
    assert company.fields["CompanyName"] == "Example Widgets Ltd"
    assert company.fields["CompanyCode"] == "GB0123456"
    assert cas.last("UpdateInstance").params["CompanyId"] == str(company.company_id)
    dm = submitted_dm(running, ALICE, order_id)
    assert "alice@example.com" in dm.text + json.dumps(dm.blocks) and "phone" in json.dumps(
        dm.blocks
    )

    # Every reminder names the same exact record.
    poll(running, order_id)
    assert order_state(running, ref) == "awaiting_verification"
    send_due(running.services, worker_id="test", now=utcnow() + timedelta(days=1))
    reminder = wait_for(
        lambda: [
            m
            for m in running.emulator.dms_to(ALICE)
            if ref in m.text and "Reminder" in m.text and ids.CHECK_NOW in json.dumps(m.blocks)
        ],
        what="the verification reminder",
    )[-1]
    (record,) = cas.cas._GetInstanceDetail({"InstanceId": "cas_ov-cn-bbb2"})["DomainValidationList"]
    shown = json.dumps(reminder.blocks, ensure_ascii=False)
    assert f'_dnsauth.shop.example.com  TXT  \\"{record["ValidationValue"]}\\"' in shown, shown
    cas.cas.pass_validation("cas_ov-cn-bbb2")
    cas.cas.reject("cas_ov-cn-bbb2", "The organization name does not match the business licence.")
    poll(running, order_id)
    assert order_state(running, ref) == "failed"
    failed = wait_for(
        lambda: [m for m in running.emulator.dms_to(ALICE) if f"{ref} failed" in m.text]
    )[-1]
    assert "does not match the business licence" in failed.text

    # Revise and resubmit: the prefilled modal, the same instance, applied again.
    assert running.click(ALICE, ids.REVISE, value=str(order_id), message=failed).status == 200
    running.settle()
    view = running.emulator.current_view(ALICE)
    assert view is not None and view["callback_id"] == ids.COMPLETE
    assert "GB0123456" in json.dumps(view)
    body = running.slack.submit_view(ALICE, {ids.ORG_LEGAL_NAME: "Example Widgets Limited"}).json()
    assert body is not None and body["response_action"] == "push", body
    assert running.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    running.settle()
    assert cas.actions().count("ApplyCertificate") == 2
    assert cas.last("UpdateInstance").params["InstanceId"] == "cas_ov-cn-bbb2"
    assert order_of(running, order_id).ca_ref == "cas_ov-cn-bbb2"
    cas.cas.pass_validation("cas_ov-cn-bbb2")
    cas.cas.approve("cas_ov-cn-bbb2")
    poll(running, order_id)
    assert order_state(running, ref) == "issued"


def test_a_key_made_by_alibaba_is_fetched_sealed_and_downloadable(
    start_certdesk: Callable[..., Running], cas: CasStandIn
) -> None:
    cas.add_instance("cas_dv-cn-ccc3", "DV", full_domains=1)
    running = aliyun_certdesk(start_certdesk, cas)
    order_id = pick(running, ALICE, "cas_dv-cn-ccc3")
    complete(
        running,
        ALICE,
        order_id,
        {
            ids.DOMAINS: "api.example.com",
            **APPLICANT,
            ids.CSR_METHOD: "ca",
            ids.KEY_ALGORITHM: "rsa2048",
        },
    )
    update = cas.last("UpdateInstance").params
    assert update["GenerateCsrMethod"] == "online" and "Csr" not in update
    dm = submitted_dm(running, ALICE, order_id)
    assert "keeps the private key" in json.dumps(dm.blocks)
    cas.cas.pass_validation("cas_dv-cn-ccc3")
    poll(running, order_id)
    order = order_of(running, order_id)
    assert order.state == "issued" and order.key_downloadable
    issued = wait_for(
        lambda: [
            m for m in running.emulator.dms_to(ALICE) if ids.DOWNLOAD_KEY in json.dumps(m.blocks)
        ]
    )
    # Renewing needs a new purchase: certdesk says so and links the console, starts nothing.
    click = running.click(ALICE, ids.RENEW, value=str(order_id), message=issued[-1])
    assert click.status == 200
    running.settle()
    told = wait_for(
        lambda: [m for m in running.emulator.dms_to(ALICE) if "means buying a new" in m.text]
    )
    assert "yundun.console.aliyun.com" in told[-1].text and "`/cert new`" in told[-1].text
    with running.services.sessions.begin() as session:
        assert queries.renewal_of(session, order_id) is None


def test_a_wrong_accesskey_secret_is_named_and_nothing_is_submitted(
    start_certdesk: Callable[..., Running], cas: CasStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    cas.add_instance("cas_dv-cn-ddd4", "DV", full_domains=1)
    running = aliyun_certdesk(start_certdesk, cas)
    order_id = pick(running, ALICE, "cas_dv-cn-ddd4")
    # The AccessKey's secret no longer matches what certdesk was given (rotated, mistyped).
    cas.credentials[ACCESS_KEY_ID] = "AnotherSecretEntirely0000"
    caplog.set_level(logging.WARNING)
    complete(
        running,
        ALICE,
        order_id,
        {
            ids.DOMAINS: "example.com",
            **APPLICANT,
            ids.CSR_METHOD: "system",
            ids.KEY_ALGORITHM: "p256",
        },
    )
    order = order_of(running, order_id)
    assert order.ca_ref is None and order.state != "submitted"
    assert "UpdateInstance" not in cas.actions() and "ApplyCertificate" not in cas.actions()
    told = wait_for(
        lambda: [m for m in running.emulator.dms_to(ALICE) if f"CD-{order_id:04d} failed" in m.text]
    )[-1]
    assert "AccessKey secret does not match" in told.text
    assert "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in told.text
    logged = [r.getMessage() for r in caplog.records if "AccessKey secret" in r.getMessage()]
    assert logged and ACCESS_KEY_SECRET not in " ".join(r.getMessage() for r in caplog.records)
    # Listing the account's purchases says the same, in the modal.
    assert "AccessKey secret does not match" in json.dumps(open_new(running, BOB))


def test_cancel_withdraws_at_alibaba_and_frees_the_instance(
    start_certdesk: Callable[..., Running], cas: CasStandIn
) -> None:
    cas.add_instance("cas_dv-cn-eee5", "DV", full_domains=1)
    running = aliyun_certdesk(start_certdesk, cas)
    order_id = pick(running, ALICE, "cas_dv-cn-eee5")
    values = {ids.DOMAINS: "example.com", **APPLICANT, ids.CSR_METHOD: "system"}
    complete(running, ALICE, order_id, values)
    assert order_of(running, order_id).ca_ref == "cas_dv-cn-eee5"
    assert running.slack.slash_command(ALICE, f"cancel CD-{order_id:04d}").status == 200
    view = running.emulator.current_view(ALICE)
    assert view is not None and view["callback_id"] == ids.CONFIRM_CANCEL
    assert running.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    running.settle()
    assert order_state(running, f"CD-{order_id:04d}") == "cancelled"
    assert "CancelPendingCertificate" in cas.actions()
    told = wait_for(
        lambda: [m for m in running.emulator.dms_to(ALICE) if "withdrawn at the CA" in m.text]
    )
    assert told
    # Withdrawn, the instance is unused again: /cert new offers it once more.
    # (the withdrawal completes asynchronously at the CA, a moment later)
    wait_for(lambda: "cas_dv-cn-eee5" in json.dumps(open_new(running, ALICE)), what="the offer")
