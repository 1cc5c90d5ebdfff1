"""An order's private key in the owner's hands: downloaded as a file into their DM only."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from bot import crypto, events
from bot.access import Need
from bot.crypto import Sealed, order_key_context
from bot.csr_method import CSRMethod, certdesk_holds_key
from bot.errors import CustodyError, NotAllowed, NotFound
from bot.key_download import PEM_PLAIN, PFX, TITLE_WORDS, KeyRequest, check_request
from bot.orders.announcements import upload_private
from bot.orders.lookup import load
from bot.orders.telling import tell_person
from bot.services import Services
from storage import queries
from storage.models import DeliveredFile, Order, PrivateKey, utcnow

logger = logging.getLogger(__name__)


def owned_order(session: Session, services: Services, order_id: int, *, user_id: str) -> Order:
    """The order, if ``user_id`` is its requester: the key is theirs, not a watcher's or admin's."""
    order = load(session, services, order_id, user_id=user_id, need=Need.ACT)
    if order.requester_id != user_id:
        raise NotAllowed(
            f"Only <@{order.requester_id}>, who requested {order.ref}, can download or remove "
            "its private key: the key belongs to them, and admins can see the order but not "
            "its key."
        )
    return order


def stored_key(session: Session, order: Order) -> PrivateKey:
    """The order's sealed key row, or NotFound saying why there is none to download."""
    if not certdesk_holds_key(order.csr_method):
        raise NotFound(
            f"{order.ref} uses a CSR you uploaded, so certdesk never had its private key: "
            "it is wherever you made that CSR."
        )
    key = session.get(PrivateKey, order.id)
    if key is None:
        when = (
            "fetches it from the CA, which made it, when the certificate is issued"
            if order.csr_method == CSRMethod.CA_GENERATED
            else "makes it when the order is submitted to the CA"
        )
        raise NotFound(f"{order.ref} has no private key yet: certdesk {when}.")
    if key.purged_at is not None or key.ciphertext is None:
        when = f" on {key.purged_at:%Y-%m-%d}" if key.purged_at else ""
        raise NotFound(
            f"The private key of {order.ref} was purged from certdesk{when} at its owner's "
            "request. Nobody can download it again; if the downloaded copy is lost too, "
            "the certificate needs a new key (renew or buy a new one)."
        )
    return key


def store_key(
    session: Session, order_id: int, sealed: Sealed, *, algorithm: str, action: str
) -> None:
    """Keep the order's new private key, sealed (replacing any earlier one), and audit it."""
    stored = session.get(PrivateKey, order_id) or PrivateKey(order_id=order_id)
    stored.algorithm, stored.key_id = algorithm, sealed.key_id
    stored.nonce, stored.ciphertext = sealed.nonce, sealed.ciphertext
    stored.created_at, stored.purged_at = utcnow(), None
    session.add(stored)
    queries.record(
        session,
        order_id=order_id,
        actor="system",
        action=action,
        algorithm=algorithm,
        key_id=sealed.key_id,
    )


def open_download(services: Services, order_id: int, *, user_id: str) -> Order:
    """The order whose key the owner wants, if there is a key to download."""
    with services.sessions.begin() as session:
        order = owned_order(session, services, order_id, user_id=user_id)
        stored_key(session, order)
        return order


def request_download(
    services: Services, order_id: int, *, user_id: str, raw: Mapping[str, Any]
) -> KeyRequest:
    """Check the owner's download request and audit it (the format, never the passphrase)."""
    with services.sessions.begin() as session:
        order = owned_order(session, services, order_id, user_id=user_id)
        stored_key(session, order)
        request = check_request(order.id, raw, issued=bool(order.certificate_pem))
        queries.record(
            session, order_id=order_id, actor=user_id, action="key_requested", format=request.fmt
        )
        return request


def deliver_key(services: Services, request: KeyRequest, *, user_id: str) -> DeliveredFile:
    """Decrypt, export and upload the key to the owner's DM (after the ack), say how to remove."""
    with services.sessions.begin() as session:
        order = owned_order(session, services, request.order_id, user_id=user_id)
        key = stored_key(session, order)
        assert key.ciphertext is not None
        sealed = Sealed(key_id=key.key_id, nonce=key.nonce, ciphertext=key.ciphertext)
        ref, chain = order.ref, order.certificate_pem
    key_pem = _open_key(services, request.order_id, sealed, ref=ref, user_id=user_id)
    content, filename = _export(key_pem, request, ref=ref, chain=chain)
    del key_pem
    delete_after = utcnow() + services.settings.key_file_ttl
    delivered = upload_private(
        services,
        request.order_id,
        user_id=user_id,
        kind="key",
        filename=filename,
        content=content,
        title=f"{ref} private key ({TITLE_WORDS[request.fmt]})",
        delete_after=delete_after,
    )
    event = events.KeyDelivered(
        ref=ref,
        order_id=request.order_id,
        file_row=delivered.id,
        filename=delivered.filename,
        delete_after=delivered.delete_after,
        fmt=request.fmt,
    )
    tell_person(services, user_id, event)
    return delivered


def _open_key(
    services: Services, order_id: int, sealed: Sealed, *, ref: str, user_id: str
) -> bytes:
    try:
        return services.custody.open(sealed, context=order_key_context(order_id))
    except CustodyError as exc:
        # The operator's half: which key is missing and where keys come from.
        logger.error(
            "%s: %s certdesk runs with master key %s; configure the key the database was "
            "sealed with (CERTDESK_MASTER_KEY, CERTDESK_PREVIOUS_MASTER_KEYS or "
            "master.key in the data directory).",
            ref,
            exc,
            services.custody.current_key_id,
        )
        with services.sessions.begin() as session:
            queries.record(
                session,
                order_id=order_id,
                actor=user_id,
                action="key_unreadable",
                key_id=sealed.key_id,
            )
        raise CustodyError(
            f"certdesk cannot decrypt the private key of {ref} right now, so no file was "
            "sent. It was started with a different master key from the one the key was "
            f"stored under (key id {sealed.key_id}). Your key is not lost: tell whoever "
            "runs certdesk, then try again."
        ) from None


def _export(
    key_pem: bytes, request: KeyRequest, *, ref: str, chain: str | None
) -> tuple[bytes, str]:
    name = ref.lower()
    if request.fmt == PEM_PLAIN:
        return crypto.export_key_pem_plain(key_pem), f"{name}.UNENCRYPTED.key.pem"
    assert request.passphrase is not None
    passphrase = request.passphrase.encode("utf-8")
    if request.fmt == PFX:
        assert chain is not None
        pfx = crypto.export_pfx(key_pem, chain.encode(), passphrase, friendly_name=ref.encode())
        return pfx, f"{name}.pfx"
    return crypto.export_key_pem_encrypted(key_pem, passphrase), f"{name}.key.pem"
