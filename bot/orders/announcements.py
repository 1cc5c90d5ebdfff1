"""Announcing a submission, failure, issuance or expiry: each part once, owed when Slack fails.

An announcement is the DM to the requester (with watchers and the team channel) and a file
into the requester's DM (the CSR, the certificate chain). Each part is recorded when done,
so announcing again only sends what did not arrive. When Slack fails even after the
client's retries, the order is marked with ``delivery_due_at``; the redelivery sweep claims
marked orders (one worker each) and announces again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot import crypto, events, workflow
from bot.csr_method import CSRMethod
from bot.orders.steps import from_records
from bot.orders.telling import tell_people
from bot.orders.workspaces import acting_for_order
from bot.ports import Tag
from bot.services import Services
from storage import queries
from storage.claims import claim_due
from storage.models import DeliveredFile, Order, utcnow
from storage.workspaces import paused_orders

logger = logging.getLogger(__name__)

#: Tags of the announcement messages (with the order id), so a retry can find them in Slack.
SUBMITTED, ISSUED = "submitted", "issued"
#: How long after a failed delivery it is tried again.
RETRY_AFTER = timedelta(minutes=1)


def announce(services: Services, order_id: int) -> bool:
    """Send what the order's current stage owes its people; owe it if Slack fails.

    Returns whether everything was sent.
    """
    try:
        _announce(services, order_id)
    except Exception as exc:
        logger.exception("order %s: telling its people failed; retrying later", order_id)
        owe(services, order_id, problem=type(exc).__name__)
        return False
    return True


def owe(services: Services, order_id: int, *, problem: str) -> None:
    """Remember that this order's people were not told; the sweep tries again."""
    with services.sessions.begin() as session:
        queries.set_delivery_due(session, order_id, at=utcnow() + RETRY_AFTER)
        queries.record(
            session, order_id=order_id, actor="system", action="delivery_failed", problem=problem
        )


def deliver_owed(services: Services, *, now: datetime) -> int:
    """Announce again for every order whose delivery is due; return how many succeeded."""
    done = 0
    lease = services.settings.claim_lease
    paused = [Order.id.not_in(paused_orders())]  # an uninstalled workspace's wait
    for order_id in claim_due(
        services.sessions, Order, Order.delivery_due_at, now=now, lease=lease, where=paused
    ):
        try:
            # A worker that died mid-announcement, or an answer lost after Slack acted, may
            # have sent a part without recording it: look in Slack before sending it again.
            with acting_for_order(services, order_id):
                _announce(services, order_id, recheck=True)
        except Exception:
            logger.exception("order %s: delivering to Slack failed again; retrying later", order_id)
            with services.sessions.begin() as session:
                queries.set_delivery_due(session, order_id, at=now + RETRY_AFTER)
            continue
        with services.sessions.begin() as session:
            queries.set_delivery_due(session, order_id, at=None)
        done += 1
    return done


def upload_private(
    services: Services,
    order_id: int,
    *,
    user_id: str,
    kind: str,
    filename: str,
    content: bytes,
    title: str,
    delete_after: datetime | None = None,
    recheck_since: datetime | None = None,
) -> DeliveredFile:
    """Upload a file into ``user_id``'s DM only, and remember it (so it can be deleted).

    With ``recheck_since`` (a retry after a crash) a file of that name shared in the DM since
    then is recorded instead of uploaded again (an earlier round's file does not count).
    """
    channel, found = "", None
    if recheck_since is not None:
        channel = services.notifier.dm_channel(user_id)
        found = services.notifier.find_file(channel, filename, since=recheck_since)
    if found is not None:
        file_id = found
    else:
        channel, file_id = services.notifier.upload_to_dm(
            user_id, filename=filename, content=content, title=title
        )
    with services.sessions.begin() as session:
        return queries.record_file(
            session,
            order_id=order_id,
            user_id=user_id,
            channel_id=channel,
            slack_file_id=file_id,
            kind=kind,
            filename=filename,
            delete_after=delete_after,
        )


def _announce(services: Services, order_id: int, *, recheck: bool = False) -> None:
    """Everything owed: the submission (even if the order has moved on since: what was owed
    before issuance is never dropped), then the issuance. ``recheck``: a retry, which looks
    in Slack for each part that may have arrived before sending it."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        state = order.state if order else None
        sent_to_ca = order is not None and queries.audit_has(
            session, order_id, "sent_to_ca", since=order.submitted_at
        )
    # Not yet sent (an owed notice of an order resubmitted since): send_to_ca announces it.
    if sent_to_ca and (state in workflow.IN_FLIGHT or state == workflow.State.ISSUED):
        _announce_submission(services, order_id, recheck=recheck)
    if state == workflow.State.ISSUED:
        _announce_issuance(services, order_id, recheck=recheck)
    elif state == workflow.State.FAILED:
        _announce_failure(services, order_id, recheck=recheck)
    elif state == workflow.State.EXPIRED:
        _announce_expiry(services, order_id, recheck=recheck)


def _announce_submission(services: Services, order_id: int, *, recheck: bool) -> None:
    """Tell the requester the order went to the CA, and hand them the CSR."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.applicant is not None
        csr, mailbox, ref = order.csr_pem or "", order.applicant.email, order.ref
        requester, since = order.requester_id, order.submitted_at
        announced = queries.audit_has(session, order_id, "submission_announced", since=since)
        csr_sent = queries.file_delivered(session, order_id, kind="csr", since=since)
        sent = queries.last_audit(session, order_id, "sent_to_ca")
        notes = tuple(str(n) for n in (sent.detail.get("notes") or ())) if sent else ()
        steps = from_records(sent.detail) if sent else ()
        product, by_ca = order.product, order.csr_method == CSRMethod.CA_GENERATED
    if not announced:
        ca = services.ca
        by_email = ca.emails_applicant
        reviewer = mailbox if not by_email and ca.contacts_applicant(product) else None
        tell_people(
            services,
            order_id,
            events.Submitted(
                ref=ref,
                order_id=order_id,
                mailbox=mailbox,
                by_email=by_email,
                notes=notes,
                steps=steps,
                reviewer_writes_to=reviewer,
                key_made_by=(ca.display_name or ca.name) if by_ca else None,
            ),
            tag=_tag(SUBMITTED, order_id, since),
            recheck=recheck,
        )
        _mark(services, order_id, "submission_announced")
    if not csr_sent and csr:  # a CA that makes the key makes the CSR too: none to hand over
        upload_private(
            services,
            order_id,
            user_id=requester,
            kind="csr",
            filename=f"{ref.lower()}.csr.pem",
            content=csr.encode(),
            title=f"{ref} CSR",
            recheck_since=since if recheck else None,
        )


def _announce_issuance(services: Services, order_id: int, *, recheck: bool) -> None:
    """DM the certificate's details and upload the chain into the requester's DM only."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.certificate_pem
        ref, requester, chain = order.ref, order.requester_id, order.certificate_pem.encode()
        offer_key = order.key_downloadable
        issued_at = queries.last_audit_at(session, order_id, "issued")
        announced = queries.audit_has(session, order_id, "issuance_announced", since=issued_at)
        chain_sent = queries.file_delivered(session, order_id, kind="chain", since=issued_at)
    if not announced:
        info = crypto.describe_certificate(chain)
        tell_people(
            services,
            order_id,
            events.Issued(ref=ref, order_id=order_id, info=info, offer_key=offer_key),
            tag=_tag(ISSUED, order_id, issued_at),
            recheck=recheck,
        )
        _mark(services, order_id, "issuance_announced")
    if not chain_sent:
        upload_private(
            services,
            order_id,
            user_id=requester,
            kind="chain",
            filename=f"{ref.lower()}.fullchain.pem",
            content=chain,
            title=f"{ref} certificate chain",
            recheck_since=issued_at if recheck else None,
        )


def _announce_failure(services: Services, order_id: int, *, recheck: bool) -> None:
    """Tell the requester (and watchers, the channel) why the order failed, once per failure:
    the CA's reason, or an approver's when the application was not approved."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None
        ref, reason = order.ref, order.failure_reason or ""
        found = [queries.last_audit(session, order_id, a) for a in ("failed", "rejected")]
        latest = max((e for e in found if e), key=lambda e: (e.at, e.id), default=None)
        failed_at = latest.at if latest else None
        announced = queries.audit_has(session, order_id, "failure_announced", since=failed_at)
        event: object = events.Failed(ref=ref, order_id=order_id, reason=reason)
        if latest is not None and latest.action == "rejected":
            event = events.Rejected(
                ref=ref,
                order_id=order_id,
                by=latest.actor,
                reason=str(latest.detail.get("reason") or ""),
            )
    if not announced:
        tell_people(
            services, order_id, event, tag=_tag("failed", order_id, failed_at), recheck=recheck
        )
        _mark(services, order_id, "failure_announced")


def _announce_expiry(services: Services, order_id: int, *, recheck: bool) -> None:
    """Tell the order's people its certificate expired (offering renewal), once."""
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.not_after is not None
        ref, not_after = order.ref, order.not_after
        announced = queries.audit_has(session, order_id, "expiry_announced", since=None)
    if not announced:
        tell_people(
            services,
            order_id,
            events.Expired(ref=ref, order_id=order_id, not_after=not_after),
            tag=_tag("expired", order_id, not_after),
            recheck=recheck,
        )
        _mark(services, order_id, "expiry_announced")


def _tag(what: str, order_id: int, since: datetime | None) -> Tag:
    """The tag of one announcement: which, for which order, in which round (a resubmission
    or a reissue is announced anew)."""
    return Tag(f"{what}_{int(since.timestamp()) if since else 0}", order_id)


def _mark(services: Services, order_id: int, action: str) -> None:
    with services.sessions.begin() as session:
        queries.record(session, order_id=order_id, actor="system", action=action)
