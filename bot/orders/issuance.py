"""An issued certificate: check it against the CSR, store it, and announce it privately."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm.exc import StaleDataError

from bot import crypto, workflow
from bot.crypto import CertInfo, Sealed
from bot.csr_method import CSRMethod
from bot.errors import Error
from bot.orders import transitions
from bot.orders.announcements import announce, owe_issuance
from bot.orders.failure import fail_order
from bot.orders.keys import store_key
from bot.services import Services
from storage import queries
from storage.models import utcnow

logger = logging.getLogger(__name__)


def issue_order(services: Services, order_id: int, *, ca_ref: str, now: datetime) -> bool:
    """Fetch, check and store the CA's certificate, then announce it; False if already done.

    Only the caller whose transaction moves the order to `issued` announces, so a second
    poll (or a second worker) never sends the certificate twice. Raises CAError when the
    CA cannot hand over the certificate now.
    """
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        if order is None or order.ca_ref != ca_ref or order.state not in workflow.IN_FLIGHT:
            return False
        csr_pem = (order.csr_pem or "").encode()
        wanted = {d.name.lower() for d in order.domains}
        key_by_ca, algorithm = order.csr_method == CSRMethod.CA_GENERATED, order.key_algorithm
    chain = services.ca.fetch_certificate(ca_ref)
    problem, info = _check(chain, csr_pem=csr_pem, wanted=wanted)
    sealed = None
    if key_by_ca and not problem:
        # The CA made the key: fetch it now, and keep it only sealed, like certdesk's own.
        problem, sealed = _fetch_and_seal_key(services, order_id, ca_ref=ca_ref, chain=chain)
    if problem or info is None:
        fail_order(
            services, order_id, reason=problem or "unreadable", actor="system", ca_ref=ca_ref
        )
        return False
    try:
        with services.sessions.begin() as session:
            order = queries.get_order(session, order_id, for_update=True)
            if order is None or order.ca_ref != ca_ref or order.state not in workflow.IN_FLIGHT:
                return False
            order.certificate_pem = chain.decode("ascii")
            order.not_after = info.not_after
            if sealed is not None:
                store_key(
                    session,
                    order_id,
                    sealed,
                    algorithm=algorithm or "",
                    action="key_fetched_from_ca",
                )
            transitions.apply(
                session,
                order,
                workflow.Event.ISSUE,
                actor="ca",
                now=now,
                action="issued",
                serial=info.serial,
                sha256=info.sha256_fingerprint,
                not_after=info.not_after.isoformat(),
            )
            # Owed with the issuance itself: a crash after this commit delays it, never loses it.
            session.flush()
            session.refresh(order, ["private_key"])  # the key stored just now, if the CA made it
            owe_issuance(session, services, order, info, now=utcnow())
    except StaleDataError:
        return False  # someone else moved the order in the meantime and announces it
    announce(services, order_id)
    return True


def _fetch_and_seal_key(
    services: Services, order_id: int, *, ca_ref: str, chain: bytes
) -> tuple[str | None, Sealed | None]:
    """(why the CA's key cannot be kept, or None; the key sealed). CAError propagates."""
    key_pem = services.ca.fetch_private_key(ca_ref)
    if not key_pem:
        return "The CA made the key pair but did not hand over the private key.", None
    try:
        matches = crypto.key_matches_certificate(key_pem, chain)
    except (Error, ValueError, TypeError):
        matches = False
    if not matches:
        return (
            "The private key the CA handed over does not belong to the certificate it "
            "issued, so certdesk cannot keep it. Ask the CA to reissue the certificate."
        ), None
    sealed = services.custody.seal(key_pem, context=crypto.order_key_context(order_id))
    del key_pem
    return None, sealed


def _check(chain: bytes, *, csr_pem: bytes, wanted: set[str]) -> tuple[str | None, CertInfo | None]:
    """(why the certificate cannot be accepted, or None; its description)."""
    try:
        info = crypto.describe_certificate(chain)
    except Error as exc:
        return (
            f"The CA sent a certificate certdesk cannot read ({exc}). Ask the CA to reissue.",
            None,
        )
    if csr_pem:
        try:
            csr = crypto.load_csr(csr_pem)
        except Error:
            csr = None
        if csr is not None and csr.public_key_sha256 != info.public_key_sha256:
            return (
                "The CA issued a certificate for a different key than the order's CSR, so it "
                "cannot be used. Ask the CA to reissue it for the submitted CSR."
            ), info
    missing = sorted(wanted - set(info.names))
    if missing:
        return (
            f"The CA's certificate does not cover {', '.join(missing)}. "
            "Ask the CA to reissue it with every domain of the order."
        ), info
    return None, info
