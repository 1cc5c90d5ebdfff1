"""Sending a submitted order to the CA: make the key and CSR if certdesk owns them, then submit."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm.exc import StaleDataError

from bot import crypto, workflow
from bot.ca.base import Organization as OrgDetails
from bot.ca.base import Submission
from bot.csr_method import CSRMethod, certdesk_makes_key
from bot.errors import CAError, PreflightError
from bot.orders import steps
from bot.orders.announcements import announce, owe_submission
from bot.orders.backoff import back_off
from bot.orders.failure import fail_order
from bot.orders.keys import store_key
from bot.preflight import check_before_submit
from bot.products import needs_organization
from bot.services import Services
from storage import queries
from storage.models import Order, utcnow

logger = logging.getLogger(__name__)

#: How long one caller holds a submitted order while it makes the key and calls the CA.
SUBMIT_LEASE = timedelta(minutes=5)


def send_to_ca(
    services: Services, order_id: int, *, now: datetime | None = None, claimed: bool = False
) -> str | None:
    """Submit the order to the CA once; return the CA's reference, or None if not sent now.

    Safe to call again, and from several workers at once: an order already sent, held by
    another caller (unless ``claimed``: the poll sweep already holds its lease), or no longer
    submitted is left alone. A CA outage schedules a retry; a refusal fails the order.
    """
    try:
        with services.sessions.begin() as session:
            order = queries.get_order(session, order_id)
            now = now or utcnow()
            if order is None or order.state != workflow.State.SUBMITTED or order.ca_ref:
                return None
            if not claimed and order.next_poll_at and order.next_poll_at > now:
                return None  # another worker holds it, or a retry is not due yet
            # Claim the order: the version check lets exactly one concurrent caller win, so
            # the CA never receives the same order twice.
            order.next_poll_at = now + min(SUBMIT_LEASE, services.settings.claim_lease)
            needs_key = certdesk_makes_key(order.csr_method) and not order.csr_pem
            algorithm, names = order.key_algorithm or "rsa2048", [d.name for d in order.domains]
            organization = _org_details(order)
    except StaleDataError:
        return None
    if needs_key:
        _make_key_and_csr(services, order_id, algorithm=algorithm, names=names, org=organization)
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        by_ca = order is not None and order.csr_method == CSRMethod.CA_GENERATED
        assert order is not None and order.applicant is not None and (order.csr_pem or by_ca)
        order_ref = order.ref
        submission = Submission(
            order_ref=order.ref,
            product=order.product,
            domains=tuple(d.name for d in order.domains),
            csr_pem=(order.csr_pem or "").encode(),
            applicant_name=order.applicant.name,
            applicant_email=order.applicant.email,
            applicant_phone=order.applicant.phone,
            organization=organization,
            validity_days=order.validity_days,
            purchase_ref=order.purchase_ref,
            key_generated_by_ca=by_ca,
            key_algorithm=order.key_algorithm if by_ca else None,
            registration_number=order.registration_number or "",
            # One key per submission: a retry after a crash is the same order at the CA.
            idempotency_key=f"{order.ref}@{(order.submitted_at or now).isoformat()}",
        )
    try:
        # CAA is checked before anything reaches the CA (bot.preflight explains the resolver).
        checked = check_before_submit(services, submission)
        ca_ref = services.ca.submit(submission)
    except (CAError, PreflightError) as exc:
        if isinstance(exc, CAError) and exc.retryable:
            back_off(services, order_id, problem=str(exc), now=utcnow())
            return None
        # The operator reads the same sentence the requester gets (a credential, a permission).
        logger.warning("%s was not accepted by the %s CA: %s", order_ref, services.ca.name, exc)
        fail_order(services, order_id, reason=str(exc), actor="ca")
        return None
    first = steps.first_steps(services, ca_ref)
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id, for_update=True)
        assert order is not None
        order.ca_name, order.ca_ref = services.ca.name, ca_ref
        still_wanted = order.state == workflow.State.SUBMITTED
        sent_at = utcnow()
        order.next_poll_at = sent_at if still_wanted else None
        order.poll_failures = 0
        if still_wanted:  # owed with the CA's acceptance: a crash after it cannot lose it
            owe_submission(
                session, services, order, now=sent_at, notes=checked.warnings, steps=first
            )
        queries.record(
            session,
            order_id=order_id,
            actor="system",
            action="sent_to_ca",
            ca=services.ca.name,
            ca_ref=ca_ref,
            notes=list(checked.warnings),  # the submission DM tells the requester these
            # What the CA first asked to publish, for the submission DM (exactly as given).
            steps=steps.as_records(first),
        )
    if not still_wanted:
        # Cancelled while the CA call was in flight: withdraw it there too.
        _withdraw(services, order_id, ca_ref)
        return None
    announce(services, order_id)
    return ca_ref


def _withdraw(services: Services, order_id: int, ca_ref: str) -> None:
    try:
        services.ca.cancel(ca_ref)
        action, detail = "withdrawn_at_ca", {}
    except CAError as exc:
        action, detail = "withdraw_failed", {"problem": str(exc)[:500]}
        logger.warning("could not withdraw order %s (%s) at the CA: %s", order_id, ca_ref, exc)
    with services.sessions.begin() as session:
        queries.record(session, order_id=order_id, actor="system", action=action, **detail)


def _org_details(order: Order) -> OrgDetails | None:
    if order.organization is None or not needs_organization(order.product):
        return None
    return order.organization.details()


def _make_key_and_csr(
    services: Services, order_id: int, *, algorithm: str, names: list[str], org: OrgDetails | None
) -> None:
    # Key generation (RSA-4096 takes up to a second) happens outside any transaction.
    key_pem = crypto.generate_key(algorithm)
    csr_pem = crypto.make_csr(key_pem, names, organization=org)
    sealed = services.custody.seal(key_pem, context=crypto.order_key_context(order_id))
    del key_pem
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id, for_update=True)
        assert order is not None
        store_key(session, order_id, sealed, algorithm=algorithm, action="key_generated")
        order.csr_pem = csr_pem.decode()
