"""The demo's story on Alibaba Cloud (its CAS stand-in): pick an instance, publish, issued.

Then an OV instance whose organization the CA rejects, revised and submitted again.
"""

from __future__ import annotations

import re

from bot.demo import journey
from bot.demo.journey import APPLICANT, TWO_NAMES, approve, confirm, state_of
from bot.demo.narrator import ALICE, Narrator
from bot.devtools.aliyun import CasStandIn
from bot.views import ids

DV_INSTANCE, OV_INSTANCE = "cas_dv-cn-demo0001", "cas_ov-cn-demo0002"
#: The simulated story's company with its country typed right (that story shows the fix),
#: and the registration number Alibaba Cloud's company records need.
ORGANIZATION = {
    **journey.ORGANIZATION,
    ids.ORG_COUNTRY: "GB",
    ids.ORG_REGISTRATION_NUMBER: "GB0123456",
}


def seed_account(cas: CasStandIn) -> None:
    """What buying two certificates on the Alibaba Cloud console leaves on the account."""
    cas.add_instance(DV_INSTANCE, "DV", full_domains=2)
    cas.add_instance(OV_INSTANCE, "OV", full_domains=1)


def pick(n: Narrator, instance_id: str) -> str:
    """Alice runs /cert new and picks ``instance_id`` from the account; return the order ID."""
    n.command(ALICE, "new")
    n.show_view(ALICE)
    n.submit(ALICE, {ids.PURCHASE_REF: instance_id}, say=f"picks {instance_id} and registers it")
    n.wait(lambda: _registered(n, instance_id), what="the registration DM")
    n.show_dms(ALICE)
    return n.latest_ref(ALICE)


def _registered(n: Narrator, instance_id: str) -> bool:
    return any(
        "registered" in m.text and instance_id in str(m.blocks) for m in n.emulator.dms_to(ALICE)
    )


def aliyun_journey(n: Narrator, cas: CasStandIn) -> None:
    """A DV instance through DNS validation, then an OV organization rejected and revised."""
    seed_account(cas)
    n.title("Alice registers a certificate bought on Alibaba Cloud: she picks the instance")
    dv = pick(n, DV_INSTANCE)

    n.title(f"Alice completes {dv}: certdesk makes the key; Alibaba Cloud names the records")
    n.command(ALICE, f"complete {dv}")
    n.show_view(ALICE)
    n.submit(ALICE, TWO_NAMES)
    confirm(n)
    submitted = n.wait(
        lambda: n.dm_with(ALICE, ids.CHECK_NOW, containing=f"{dv} was submitted"),
        what="the submission DM with the records",
    )

    n.title("Alice publishes the TXT records exactly as shown, and presses check now")
    for name, value in _records(str(submitted.blocks)):
        print(f"\n  Alice publishes {name} TXT {value}")
        cas.cas.publish(name, value)
    n.click(ALICE, ids.CHECK_NOW, submitted, "I've verified — check now")
    n.wait(lambda: state_of(n, dv) == "issued", what="issuance by Alibaba Cloud", timeout=60)
    n.wait(lambda: n.dm_with(ALICE, ids.DOWNLOAD_KEY, containing=dv), what="the issuance DM")
    n.settle()
    n.show_dms(ALICE)

    n.title("Alice registers and completes an OV instance for her company")
    ov = pick(n, OV_INSTANCE)
    n.command(ALICE, f"complete {ov}")
    values = {
        ids.DOMAINS: "shop.example.com",
        **APPLICANT,
        **ORGANIZATION,
        ids.CSR_METHOD: "system",
        ids.KEY_ALGORITHM: "rsa2048",
    }
    n.submit(ALICE, values)
    confirm(n)
    _approved(n, ov)

    n.title("Alibaba Cloud validates the domain, then rejects the organization")
    n.wait(lambda: state_of(n, ov) in ("submitted", "awaiting_verification"), what="submission")
    cas.cas.pass_validation(OV_INSTANCE)
    cas.cas.reject(OV_INSTANCE, "The organization name does not match the business registration")
    failed = n.wait(lambda: n.dm_with(ALICE, ids.REVISE, containing=ov), what="the failure DM")
    n.show_dms(ALICE)

    n.title("Alice revises the legal name and submits again: the same instance is applied")
    n.click(ALICE, ids.REVISE, failed, "Revise and resubmit")
    n.show_view(ALICE)
    n.submit(ALICE, {ids.ORG_LEGAL_NAME: "Example Widgets Limited"})
    confirm(n)
    _approved(n, ov)
    n.wait(lambda: cas.actions().count("ApplyCertificate") >= 3, what="the second application")
    print(f"\n  Alibaba Cloud received ApplyCertificate for {OV_INSTANCE} again.")
    n.wait(lambda: _pending(cas), what="the application at the CA")
    cas.cas.pass_validation(OV_INSTANCE)
    cas.cas.approve(OV_INSTANCE)
    n.wait(lambda: state_of(n, ov) == "issued", what="issuance of the OV", timeout=60)
    n.wait(lambda: n.dm_with(ALICE, ids.DOWNLOAD_KEY, containing=ov), what="the issuance DM")
    n.settle()
    n.show_dms(ALICE)


def _approved(n: Narrator, ref: str) -> None:
    """Carol approves the OV application when the demo's approval policy asks her to."""
    state = n.wait(lambda: state_of(n, ref) != "purchased" and state_of(n, ref), what="a state")
    if state == "awaiting_approval":
        n.note("an OV application names the company: Carol (CERTDESK_APPROVERS) approves it")
        approve(n, ref)
        n.wait(lambda: state_of(n, ref) != "awaiting_approval", what="the approval")


def _pending(cas: CasStandIn) -> bool:
    return cas.cas.instances[OV_INSTANCE].status == "pending"


def _records(text: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of the TXT records a DM asks for."""
    found = re.findall(r"(_dnsauth[a-z0-9.-]*)\s+TXT\s+\\?\"?([A-Za-z0-9_-]{16,})", text)
    unique = list(dict.fromkeys(found))
    if not unique:
        raise RuntimeError("the DM named no TXT record")
    return unique
