"""The CAS API operations certdesk calls, over the stand-in's records, plus test controls."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.ca.simulated.authority import Authority
from bot.devtools.aliyun.issuing import check_csr, issue
from bot.devtools.aliyun.model import (
    ApiError,
    Application,
    Company,
    Contact,
    Instance,
    validation_list,
)

_STATUS = "The current instance status does not support this operation."
_COMPANY_FIELDS = (
    "CompanyName", "CompanyType", "CompanyCode", "CompanyPhone", "CompanyAddress",
    "Province", "City", "PostCode", "CountryCode", "Lang",
)  # fmt: skip


class Cas:
    """The account's state at the CA; every method is safe to call from several threads."""

    def __init__(
        self,
        data_dir: Path,
        *,
        validation_delay: float = 0.2,
        withdraw_refusal: float = 0.3,
        cancel_delay: float = 0.1,
        public_url: str = "http://aliyun-standin.example",
    ) -> None:
        self.authority = Authority(
            data_dir / "aliyun-standin-ca", now=datetime.now(UTC), public_url=public_url
        )
        self.validation_delay = validation_delay
        self.withdraw_refusal = withdraw_refusal
        self.cancel_delay = cancel_delay
        self.instances: dict[str, Instance] = {}
        self.contacts: dict[int, Contact] = {}
        self.companies: dict[int, Company] = {}
        self.certificates: dict[int, dict] = {}
        self.refused_domains: set[str] = set()
        #: What the "internet" shows the CA: (TXT|CNAME|HTTP, absolute name or URL) -> value.
        self.published: dict[tuple[str, str], str] = {}
        self._ids = itertools.count(1001)
        self._lock = threading.RLock()
        self.operations: dict[str, Callable[[dict[str, str]], dict]] = {
            name: getattr(self, "_" + name)
            for name in (
                "ListInstances",
                "CreateContact",
                "ListContact",
                "CreateCompany",
                "ListCompanies",
                "UpdateInstance",
                "ApplyCertificate",
                "GetInstanceDetail",
                "CancelPendingCertificate",
                "GetUserCertificateDetail",
            )  # fmt: skip
        }

    def next_id(self) -> int:
        """A new ID for a contact, company or certificate."""
        return next(self._ids)

    def call(self, action: str, params: dict[str, str]) -> dict:
        """Run one API operation; raise ApiError as the service answers."""
        operation = self.operations.get(action)
        if operation is None:
            raise ApiError(
                "InvalidAction.NotFound", f"Specified api {action} is not found.", status=404
            )
        with self._lock:
            return operation(params)

    # --- controls for tests and the demo -------------------------------------------------

    def add_instance(self, instance: Instance) -> Instance:
        """Seed a purchased instance (what buying one on the console creates)."""
        with self._lock:
            self.instances[instance.instance_id] = instance
        return instance

    def pass_validation(self, instance_id: str) -> None:
        """Let domain validation pass as if every record were found."""
        with self._lock:
            self._validated(self._pending(instance_id))

    def publish(self, name: str, value: str, *, kind: str = "TXT") -> None:
        """Publish a DNS record (``name`` absolute) or, with kind HTTP, a file at URL ``name``.

        The CA finds it on its next look (GetInstanceDetail), as it would on the internet.
        """
        with self._lock:
            self.published[(kind, name.lower().rstrip("."))] = value

    def approve(self, instance_id: str) -> None:
        """The organization review passed: issue."""
        with self._lock:
            issue(self, self._pending(instance_id))

    def reject(self, instance_id: str, reason: str) -> None:
        """The CA refuses the application; the instance may be updated and applied again."""
        with self._lock:
            inst = self._pending(instance_id)
            inst.status, inst.pending_result, inst.order_progress = "inactive", reason, ""

    # --- operations ------------------------------------------------------------------------

    def _ListInstances(self, p: dict[str, str]) -> dict:
        page, size = int(p.get("CurrentPage", "1")), min(int(p.get("ShowSize", "20")), 100)
        for inst in self.instances.values():
            self._advance(inst)
        found = [
            i.summary()
            for i in self.instances.values()
            if p.get("Status") in (None, i.status) and p.get("CertificateType") in (None, i.product)
        ]
        return {
            "TotalCount": len(found),
            "CurrentPage": page,
            "ShowSize": size,
            "InstanceList": found[(page - 1) * size : page * size],
        }

    def _CreateContact(self, p: dict[str, str]) -> dict:
        name, email, mobile = _need(p, "Name"), _need(p, "Email"), _need(p, "Mobile")
        if "@" not in email:
            raise ApiError("InvalidParameter.Email", "The Email parameter is invalid.")
        contact = Contact(next(self._ids), name, email, mobile)
        self.contacts[contact.contact_id] = contact
        return {"ContactId": contact.contact_id}

    def _ListContact(self, p: dict[str, str]) -> dict:
        word = p.get("Keyword", "")
        found = [
            {"ContactId": c.contact_id, "Name": c.name, "Email": c.email, "Mobile": c.mobile}
            for c in self.contacts.values()
            if word in c.name or word in c.email
        ]
        return {"TotalCount": len(found), "ContactList": found[: int(p.get("ShowSize", "20"))]}

    def _CreateCompany(self, p: dict[str, str]) -> dict:
        fields = {name: _need(p, name) for name in _COMPANY_FIELDS}
        company = Company(next(self._ids), fields)
        self.companies[company.company_id] = company
        return {"CompanyId": company.company_id}

    def _ListCompanies(self, p: dict[str, str]) -> dict:
        word = p.get("Keyword", "")
        found = [
            {"CompanyId": c.company_id, **c.fields}
            for c in self.companies.values()
            if word in c.fields["CompanyName"]
        ]
        return {"TotalCount": len(found), "CompanyList": found[: int(p.get("ShowSize", "20"))]}

    def _UpdateInstance(self, p: dict[str, str]) -> dict:
        inst = self._instance(p)
        if inst.status != "inactive":
            raise ApiError("OperationDenied.StatusNotSupport", _STATUS)
        domains = tuple(d.strip().lower() for d in _need(p, "Domain").split(",") if d.strip())
        self._check_domains(inst, domains)
        method = _need(p, "GenerateCsrMethod")
        if method not in ("online", "upload"):
            raise ApiError("InvalidParameter.GenerateCsrMethod", "GenerateCsrMethod is invalid.")
        algorithm = p.get("KeyAlgorithm", "RSA_2048")
        if algorithm not in inst.key_algorithms:
            raise ApiError(
                "InvalidParameter.KeyAlgorithm",
                f"This product does not support the key algorithm {algorithm}.",
            )
        csr_pem = check_csr(_need(p, "Csr"), domains) if method == "upload" else None
        validation = p.get("ValidationMethod", "DNS")
        if validation not in ("DNS", "HTTP"):
            raise ApiError("InvalidParameter.ValidationMethod", "ValidationMethod is invalid.")
        contact_ids = tuple(int(v) for k, v in sorted(p.items()) if k.startswith("ContactIdList."))
        if not contact_ids or any(c not in self.contacts for c in contact_ids):
            raise ApiError(
                "InvalidParameter.ContactIdList", "A contact in ContactIdList does not exist."
            )
        company_id = int(p["CompanyId"]) if p.get("CompanyId") else None
        if inst.product in ("OV", "EV") and company_id not in self.companies:
            raise ApiError(
                "InvalidParameter.CompanyId", "OV and EV certificates need an existing CompanyId."
            )
        inst.application = Application(
            domains=domains, csr_method=method, csr_pem=csr_pem, key_algorithm=algorithm,
            validation_method=validation, contact_ids=contact_ids, company_id=company_id,
            country=p.get("CountryCode"), province=p.get("Province"), city=p.get("City"),
        )  # fmt: skip
        return {}

    def _ApplyCertificate(self, p: dict[str, str]) -> dict:
        inst = self._instance(p)
        if inst.status != "inactive":
            raise ApiError("OperationDenied.StatusNotSupport", _STATUS)
        if inst.application is None:
            raise ApiError("OperationDenied.InstanceNotUpdated", "Call UpdateInstance first.")
        app = inst.application
        app.applied_at, app.tokens, app.validated, app.cancel_at = time.monotonic(), {}, False, None
        inst.status, inst.pending_result, inst.order_progress = "pending", "", "domain validation"
        return {}

    def _GetInstanceDetail(self, p: dict[str, str]) -> dict:
        inst = self._instance(p)
        self._advance(inst)
        app = inst.application
        listed = []
        applied_at = app.applied_at if app and not app.validated else None
        due = applied_at is not None and time.monotonic() - applied_at >= self.validation_delay
        if inst.status == "pending" and due:
            listed = validation_list(inst)
        return {
            **inst.summary(),
            "OrderProgress": inst.order_progress,
            "CertificateStatus": "issued" if inst.certificate_id else "",
            "GenerateCsrMethod": app.csr_method if app else "",
            "ValidationMethod": app.validation_method if app else "",
            "ContactIdList": list(app.contact_ids) if app else [],
            "CompanyId": app.company_id if app else None,
            "DomainValidationList": listed,
        }

    def _CancelPendingCertificate(self, p: dict[str, str]) -> dict:
        inst = self._instance(p)
        self._advance(inst)
        app = inst.application
        if inst.status != "pending" or app is None or app.applied_at is None:
            raise ApiError("OperationDenied.StatusNotSupport", _STATUS)
        if time.monotonic() - app.applied_at < self.withdraw_refusal:
            raise ApiError("OperationDenied.StatusNotSupport", _STATUS)
        app.cancel_at = time.monotonic() + self.cancel_delay  # asynchronous, as at the CA
        return {}

    def _GetUserCertificateDetail(self, p: dict[str, str]) -> dict:
        cert = self.certificates.get(int(_need(p, "CertId")))
        if cert is None:
            raise ApiError("NotFound.Certificate", "The certificate does not exist.", status=404)
        if p.get("CertFilter") == "true":
            return {k: v for k, v in cert.items() if k not in ("Cert", "Key")}
        return dict(cert)

    # --- helpers ---------------------------------------------------------------------------

    def _instance(self, p: dict[str, str]) -> Instance:
        inst = self.instances.get(_need(p, "InstanceId"))
        if inst is None:
            raise ApiError("NotFound.Instance", "The instance does not exist.", status=404)
        return inst

    def _pending(self, instance_id: str) -> Instance:
        inst = self.instances[instance_id]
        assert inst.status == "pending" and inst.application is not None, inst.status
        return inst

    def _advance(self, inst: Instance) -> None:
        app = inst.application
        if app and app.cancel_at is not None and time.monotonic() >= app.cancel_at:
            inst.status, inst.order_progress, inst.pending_result = "inactive", "", ""
            app.applied_at = app.cancel_at = None
        shown = inst.status == "pending" and app and app.tokens and not app.validated
        if shown and all(self._found(v) for v in validation_list(inst)):
            self._validated(inst)

    def _found(self, v: dict) -> bool:
        if v["ValidationType"] == "HTTP":
            where = v["ValidationKey"]
        else:
            where = f"{v['ValidationKey']}.{v['RootDomain']}"
        return self.published.get((v["ValidationType"], where.lower())) == v["ValidationValue"]

    def _validated(self, inst: Instance) -> None:
        """Domain control is proven: DV is issued, OV/EV go on to organization review."""
        assert inst.application is not None
        inst.application.validated = True
        if inst.product == "DV":
            issue(self, inst)
        else:
            inst.order_progress = "organization review"

    def _check_domains(self, inst: Instance, domains: tuple[str, ...]) -> None:
        if not domains:
            raise ApiError("InvalidParameter.Domain", "Domain is required.")
        refused = [d for d in domains if d in self.refused_domains]
        if refused:
            raise ApiError(
                "InvalidParameter.Domain",
                f"The CA does not issue certificates for {refused[0]} (restricted domain).",
            )
        wildcards = sum(d.startswith("*.") for d in domains)
        if wildcards > inst.wildcard_domains or len(domains) - wildcards > inst.full_domains:
            raise ApiError(
                "InvalidParameter.DomainCount",
                "The number of domains exceeds the quantity bought with this instance.",
            )


def _need(p: dict[str, str], name: str) -> str:
    value = p.get(name, "")
    if not value:
        raise ApiError(f"MissingParameter.{name}", f"The input parameter {name} is mandatory.")
    return value
