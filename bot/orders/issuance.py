"""An issued certificate: check it against the CSR, store it, and deliver it privately."""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot import crypto, workflow
from bot.crypto import CertInfo
from bot.domains import display_name
from bot.errors import Error
from bot.orders.delivery import already_done, file_delivered, upload_private
from bot.orders.notices import tell_people
from bot.orders.redelivery import delivered, owe_delivery
from bot.orders.reminding import schedule_expiry, stop_reminders
from bot.services import Services
from bot.views import ids
from bot.views.common import button, context, section
from storage import queries
from storage.models import PrivateKey, utcnow

logger = logging.getLogger(__name__)


def issue_order(services: Services, order_id: int, *, ca_ref: str, now: datetime) -> bool:
    """Fetch, check and store the CA's certificate, then deliver it; False if already done.

    Only the caller whose transaction moves the order to `issued` delivers, so a second
    poll (or a second worker) never sends the certificate twice. Raises CAError when the
    CA cannot hand over the certificate now.
    """
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        if order is None or order.ca_ref != ca_ref or order.state not in workflow.IN_FLIGHT:
            return False
        csr_pem = (order.csr_pem or "").encode()
        wanted = {d.name.lower() for d in order.domains}
    chain = services.ca.fetch_certificate(ca_ref)
    problem, info = _check(chain, csr_pem=csr_pem, wanted=wanted)
    if problem or info is None:
        from bot.orders.outcomes import fail_order

        fail_order(
            services, order_id, reason=problem or "unreadable", actor="system", ca_ref=ca_ref
        )
        return False
    try:
        with services.sessions.begin() as session:
            order = queries.get_order(session, order_id, for_update=True)
            if order is None or order.ca_ref != ca_ref or order.state not in workflow.IN_FLIGHT:
                return False
            before = order.state
            order.state = workflow.next_state(before, workflow.Event.ISSUE)
            order.certificate_pem = chain.decode("ascii")
            order.not_after = info.not_after
            order.next_poll_at, order.poll_failures = None, 0
            # Owed until delivered: if this process dies before the certificate reaches the
            # requester, the redelivery sweep sends it once this lease has run out.
            order.delivery_due_at = utcnow() + services.settings.claim_lease
            if before == workflow.State.AWAITING_VERIFICATION:
                stop_reminders(session, order_id, kind="verification")
            schedule_expiry(session, order, now=now)
            queries.record(
                session,
                order_id=order_id,
                actor="ca",
                action="issued",
                serial=info.serial,
                sha256=info.sha256_fingerprint,
                not_after=info.not_after.isoformat(),
            )
    except StaleDataError:
        return False  # someone else moved the order in the meantime and delivers it
    try:
        deliver(services, order_id)
    except Exception as exc:
        # The certificate is stored; the delivery sweep sends what did not arrive.
        logger.exception("order %s: issued, but delivering it to Slack failed", order_id)
        owe_delivery(services, order_id, problem=type(exc).__name__)
        return True
    delivered(services, order_id)
    return True


def deliver(services: Services, order_id: int, *, recheck: bool = False) -> None:
    """DM the certificate's details and upload the chain into the requester's DM only.

    Each part is done once, so calling it again after a Slack outage only sends what did
    not arrive; with ``recheck`` (a retry after a crash) Slack is asked first too, for what
    arrived but was not recorded.
    """
    with services.sessions.begin() as session:
        order = queries.get_order(session, order_id)
        assert order is not None and order.certificate_pem
        ref, requester, chain = order.ref, order.requester_id, order.certificate_pem.encode()
        offer_key = order.csr_method == "system" and _key_kept(session, order_id)
        issued_at = next(
            (e.at for e in queries.audit_trail(session, order_id) if e.action == "issued"), None
        )
        announced = already_done(session, order_id, action="issuance_announced", since=issued_at)
        chain_sent = file_delivered(session, order_id, kind="chain", since=issued_at)
    info = crypto.describe_certificate(chain)
    if not announced:
        text, blocks = issued_message(ref, order_id, info=info, offer_key=offer_key)
        tell_people(
            services,
            order_id,
            text=text,
            blocks=blocks,
            channel_text=f"{ref} was issued; valid until {info.not_after:%Y-%m-%d} UTC.",
            notice="issued",
            recheck=recheck,
        )
        with services.sessions.begin() as session:
            queries.record(session, order_id=order_id, actor="system", action="issuance_announced")
    if not chain_sent:
        upload_private(
            services,
            order_id,
            user_id=requester,
            kind="chain",
            filename=f"{ref.lower()}.fullchain.pem",
            content=chain,
            title=f"{ref} certificate chain",
            recheck=recheck,
        )


def issued_message(
    ref: str, order_id: int, *, info: CertInfo, offer_key: bool
) -> tuple[str, list[Block]]:
    """The issuance DM: subject, names, issuer, validity, fingerprint, and what to do next."""
    names = ", ".join(f"`{display_name(n)}`" for n in info.names[:20])
    if len(info.names) > 20:
        names += f" and {len(info.names) - 20} more"
    text = (
        f"{ref} is issued: {info.subject}, valid until {info.not_after:%Y-%m-%d %H:%M} UTC, "
        f"SHA-256 fingerprint {info.sha256_fingerprint}."
    )
    value = str(order_id)
    buttons = []
    if offer_key:
        buttons.append(button("Download private key", ids.DOWNLOAD_KEY, value, style="primary"))
    buttons += [button("Renew", ids.RENEW, value), button("Details", ids.SHOW_STATUS, value)]
    key_words = (
        "The private key stays sealed in certdesk until you ask for it with the button below."
        if offer_key
        else "Install it with the private key you made the CSR with."
    )
    blocks: list[Block] = [
        section(f":white_check_mark: *{ref}* is issued."),
        section(
            "\n".join(
                [
                    f"*Subject:* {info.subject}",
                    f"*Names:* {names}",
                    f"*Issuer:* {info.issuer}",
                    f"*Valid:* {info.not_before:%Y-%m-%d %H:%M} UTC → "
                    f"{info.not_after:%Y-%m-%d %H:%M} UTC",
                    f"*SHA-256 fingerprint:* `{info.sha256_fingerprint}`",
                ]
            )
        ),
        context(f"The full chain (certificate, then the CA's) is attached below. {key_words}"),
        ActionsBlock(elements=buttons),
    ]
    return text, blocks


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


def _key_kept(session: Session, order_id: int) -> bool:
    key = session.get(PrivateKey, order_id)
    return key is not None and key.ciphertext is not None
