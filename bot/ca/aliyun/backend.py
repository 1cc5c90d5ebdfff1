"""The ``aliyun`` backend: apply for Alibaba Cloud certificate instances through the CAS API."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from alibabacloud_cas20200407 import models as api

from bot.ca.aliyun import mapping, records
from bot.ca.aliyun.problems import STATUS_NOT_SUPPORTED
from bot.ca.aliyun.transport import AliyunError, Transport
from bot.ca.base import CABackend, CAStatus, Purchase, StateStore, Submission
from bot.crypto.certinfo import load_certificates
from bot.errors import CAError, ValidationError

#: ListInstances pages this large (the API's maximum).
PAGE = 100


class AliyunBackend(CABackend):
    """Alibaba Cloud Certificate Management Service: complete a purchased instance, then apply."""

    name = "aliyun"
    # Domain control is proven by DNS records or files; OV/EV reviews still email the applicant.
    emails_applicant = False
    generates_keys = True

    def __init__(
        self,
        transport: Transport,
        *,
        store: StateStore,
        cancel_wait: float = 30.0,
        cancel_interval: float = 3.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._t = transport
        self._store = store
        # Withdrawing is refused for a few seconds after applying: retry this long, this often.
        self._cancel_wait, self._cancel_interval, self._sleep = cancel_wait, cancel_interval, sleep

    def contacts_applicant(self, product: str) -> bool:
        """OV and EV reviews email (and may phone) the applicant contact."""
        return product in ("ov", "ev")

    def purchases(self) -> list[Purchase]:
        """The account's instances not yet applied for (ListInstances, status inactive).

        Raises CAError (retryable for throttling and outages).
        """
        found: list[Purchase] = []
        page = 1
        while True:
            request = api.ListInstancesRequest(status="inactive", current_page=page, show_size=PAGE)
            body = self._call("ListInstances", "list the purchased certificates", request).body
            items = body.instance_list or []
            found += [mapping.purchase(i) for i in items if i.status == "inactive"]
            if len(items) < PAGE or page * PAGE >= (body.total_count or 0):
                return found
            page += 1

    def submit(self, submission: Submission) -> str:
        """Store the application on the instance (UpdateInstance), then ApplyCertificate.

        Returns the instance ID. Raises CAError: not retryable when the CA refused the
        application or the instance cannot take it, retryable for throttling and outages.
        """
        instance_id = submission.purchase_ref
        if not instance_id:
            raise CAError("Pick the Alibaba Cloud instance (the purchase) this order completes.")
        records.check_organization(submission)  # before anything is created at the CA
        detail = self._detail(instance_id, "check the instance")
        saved = self._store.load(instance_id) or {}
        if detail.status == "pending" and saved.get("order_ref") == submission.order_ref:
            # An earlier attempt's ApplyCertificate was accepted but its answer got lost.
            self._store.save(instance_id, {**saved, "applied": True})
            return instance_id
        self._check_instance(detail, submission)
        validation = mapping.VALIDATION_METHODS.get(submission.validation_method or "dns-01")
        if validation is None:
            raise CAError(
                "Alibaba Cloud validates domains by DNS record (dns-01) or file (http-01)."
            )
        # Everything certdesk can check itself is checked before a record is created at the CA.
        if submission.key_generated_by_ca:
            method, csr = "online", None
            algorithm = mapping.api_key_algorithm(submission.key_algorithm or "rsa2048")
        else:
            method, csr = "upload", submission.csr_pem.decode("ascii")
            algorithm = mapping.csr_key_algorithm(submission.csr_pem)
        update = api.UpdateInstanceRequest(
            instance_id=instance_id,
            domain=",".join(submission.domains),
            generate_csr_method=method,
            csr=csr,
            key_algorithm=algorithm,
            validation_method=validation,
            contact_id_list=[records.contact(self._call, submission)],
        )
        org = submission.organization
        if submission.product in ("ov", "ev"):
            update.company_id = records.company(self._call, submission)
        if org is not None:
            update.country_code, update.province, update.city = org.country, org.state, org.city
        self._call("UpdateInstance", "store the application on the instance", update)
        # Remembered before applying, so a retry after a lost answer recognises its own
        # application instead of refusing a "pending" instance.
        record = {
            "order_ref": submission.order_ref,
            "applied": bool(saved.get("applied")),
            "applications": int(saved.get("applications", 0)) + 1,
            "key_generated_by_ca": submission.key_generated_by_ca,
        }
        self._store.save(instance_id, record)
        self._call(
            "ApplyCertificate",
            "submit the application",
            api.ApplyCertificateRequest(instance_id=instance_id),
        )
        self._store.save(instance_id, {**record, "applied": True})
        return instance_id

    def status(self, ca_ref: str) -> CAStatus:
        """Where the instance's application stands, with the exact records to publish.

        Raises CAError (retryable for throttling and outages).
        """
        detail = self._detail(ca_ref, "check the application")
        saved = self._store.load(ca_ref) or {}
        return mapping.instance_status(detail, applied=bool(saved.get("applied")))

    def resend_verification(self, ca_ref: str) -> None:
        """Nothing to resend: always raises CAError saying what to do instead."""
        raise CAError(
            "Alibaba Cloud verifies domains by the DNS records or files shown, not by a link "
            "to resend. Publish them, then press “I've verified — check now”."
        )

    def cancel(self, ca_ref: str) -> None:
        """Withdraw the application (CancelPendingCertificate), retrying while it is too early.

        The withdrawal completes asynchronously; status() reports CANCELLED once it has.
        Raises CAError (retryable when the CA still refuses after ``cancel_wait`` seconds).
        """
        deadline = time.monotonic() + self._cancel_wait
        request = api.CancelPendingCertificateRequest(instance_id=ca_ref)
        while True:
            try:
                self._call("CancelPendingCertificate", "withdraw the application", request)
                return
            except AliyunError as error:
                if error.code != STATUS_NOT_SUPPORTED:
                    raise
                detail = self._detail(ca_ref, "check the application")
                if detail.status == "inactive":
                    return  # already withdrawn (or rejected): nothing left to withdraw
                if detail.status in ("normal", "willExpire"):
                    raise AliyunError(
                        "The certificate is already issued, so the application cannot be "
                        "withdrawn; revoke the certificate on the Alibaba Cloud console instead.",
                        code=error.code,
                    ) from None
                if detail.status != "pending":
                    raise
                if time.monotonic() >= deadline:
                    raise AliyunError(
                        "Alibaba Cloud does not accept the withdrawal yet (it refuses one for "
                        "a short while after applying); certdesk will try again.",
                        code=error.code,
                        retryable=True,
                    ) from None
            self._sleep(self._cancel_interval)

    def fetch_certificate(self, ca_ref: str) -> bytes:
        """The issued chain as PEM, leaf first; raises CAError if not issued yet."""
        pem = self._certificate(ca_ref).cert or ""
        try:
            if not load_certificates(pem.encode("ascii")):
                raise ValueError("no certificate")
        except (ValueError, UnicodeEncodeError, ValidationError):
            raise CAError(
                "Alibaba Cloud sent something that is not a PEM certificate chain."
            ) from None
        return pem.encode("ascii")

    def fetch_private_key(self, ca_ref: str) -> bytes | None:
        """The key Alibaba Cloud generated (GenerateCsrMethod online), or None for uploaded CSRs."""
        saved = self._store.load(ca_ref) or {}
        if not saved.get("key_generated_by_ca"):
            return None
        key = self._certificate(ca_ref).key or ""
        if "PRIVATE KEY-----" not in key:
            raise CAError("Alibaba Cloud did not return the private key it generated.")
        return key.encode("ascii")

    # --- steps ---------------------------------------------------------------------------

    def _call(self, action: str, doing: str, request: object) -> Any:
        method = getattr(self._t.client, _snake(action))
        return self._t.call(action, doing, method, request)

    def _detail(self, instance_id: str, doing: str) -> api.GetInstanceDetailResponseBody:
        request = api.GetInstanceDetailRequest(instance_id=instance_id)
        return self._call("GetInstanceDetail", doing, request).body

    def _certificate(self, ca_ref: str) -> api.GetUserCertificateDetailResponseBody:
        detail = self._detail(ca_ref, "download the certificate")
        if not detail.certificate_id or detail.status not in ("normal", "willExpire"):
            raise CAError("Alibaba Cloud has not issued this certificate yet.")
        request = api.GetUserCertificateDetailRequest(
            cert_id=detail.certificate_id, cert_filter=False
        )
        return self._call("GetUserCertificateDetail", "download the certificate", request).body

    def _check_instance(self, detail: api.GetInstanceDetailResponseBody, sub: Submission) -> None:
        if detail.status != "inactive":
            raise CAError(
                f"The Alibaba Cloud instance {sub.purchase_ref} cannot take an application now "
                f"(its status is {detail.status}): pick an unused instance, or buy one on the "
                "Alibaba Cloud console."
            )
        product = (detail.certificate_type or "").lower()
        if product and product != sub.product:
            raise CAError(
                f"The instance {sub.purchase_ref} was bought for a {product.upper()} certificate, "
                f"not {sub.product.upper()}."
            )


def _snake(action: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in action).lstrip("_")
