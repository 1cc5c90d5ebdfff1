"""An order's private key in the owner's hands: downloaded as a file into their DM only."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot import crypto
from bot.access import Need
from bot.crypto import Sealed
from bot.errors import CustodyError, FieldErrors, NotAllowed, NotFound
from bot.orders.delivery import upload_private
from bot.orders.lookup import load
from bot.orders.submission import key_context
from bot.services import Services
from bot.views import ids
from storage import queries
from storage.models import DeliveredFile, Order, PrivateKey, utcnow

logger = logging.getLogger(__name__)

#: Download formats, by the value the modal sends.
PFX, PEM_ENCRYPTED, PEM_PLAIN = "pfx", "pem_encrypted", "pem_plain"
#: How each format is named in the title of the file in Slack.
_TITLE_WORDS = {
    PFX: "PFX, passphrase-protected",
    PEM_ENCRYPTED: "PEM, passphrase-protected",
    PEM_PLAIN: "PEM, no passphrase",
}
#: Long enough to resist guessing against a file anyone in the DM could copy.
MIN_PASSPHRASE = 12


@dataclass(frozen=True)
class KeyRequest:
    """A checked download request: the format and, unless plain, the passphrase."""

    order_id: int
    fmt: str
    passphrase: str | None

    def __repr__(self) -> str:  # never show the passphrase, even in a traceback or a debugger
        return f"KeyRequest(order_id={self.order_id}, fmt={self.fmt!r})"


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
    if order.csr_method != "system":
        raise NotFound(
            f"{order.ref} uses a CSR you uploaded, so certdesk never had its private key: "
            "it is wherever you made that CSR."
        )
    key = session.get(PrivateKey, order.id)
    if key is None:
        raise NotFound(
            f"{order.ref} has no private key yet: certdesk makes it when the order is "
            "submitted to the CA."
        )
    if key.purged_at is not None or key.ciphertext is None:
        when = f" on {key.purged_at:%Y-%m-%d}" if key.purged_at else ""
        raise NotFound(
            f"The private key of {order.ref} was purged from certdesk{when} at its owner's "
            "request. Nobody can download it again; if the downloaded copy is lost too, "
            "the certificate needs a new key (renew or buy a new one)."
        )
    return key


def formats_for(order: Order) -> list[str]:
    """The formats offered: PFX only once the CA has issued the certificate chain."""
    offered = [PEM_ENCRYPTED, PEM_PLAIN]
    return [PFX, *offered] if order.certificate_pem else offered


def open_download(services: Services, order_id: int, *, user_id: str) -> Order:
    """The order whose key the owner wants, if there is a key to download."""
    with services.sessions.begin() as session:
        order = owned_order(session, services, order_id, user_id=user_id)
        stored_key(session, order)
        return order


def check_request(order: Order, raw: Mapping[str, Any]) -> KeyRequest:
    """Check the download modal's values; FieldErrors keyed by block id for anything wrong."""
    fmt = raw.get(ids.KEY_FORMAT)
    errors: dict[str, str] = {}
    if fmt not in formats_for(order):
        if fmt == PFX:
            errors[ids.KEY_FORMAT] = (
                "PFX bundles the key with the certificate, which the CA has not issued yet. "
                "Choose PEM now, or come back after issuance."
            )
        else:
            errors[ids.KEY_FORMAT] = "Choose a format."
        raise FieldErrors(errors)
    if fmt == PEM_PLAIN:
        if not raw.get(ids.KEY_PLAIN_OK):
            errors[ids.KEY_PLAIN_OK] = (
                "Tick the box to confirm you want the key without a passphrase, or choose "
                "a passphrase-protected format."
            )
            raise FieldErrors(errors)
        return KeyRequest(order_id=order.id, fmt=fmt, passphrase=None)
    passphrase = raw.get(ids.KEY_PASSPHRASE) or ""
    again = raw.get(ids.KEY_PASSPHRASE_AGAIN) or ""
    if len(passphrase) < MIN_PASSPHRASE:
        errors[ids.KEY_PASSPHRASE] = (
            f"Use at least {MIN_PASSPHRASE} characters (it has {len(passphrase)}): "
            "a few words you can remember work well."
        )
    elif again != passphrase:
        errors[ids.KEY_PASSPHRASE_AGAIN] = "The two passphrases differ: type the same one twice."
    if errors:
        raise FieldErrors(errors)
    return KeyRequest(order_id=order.id, fmt=fmt, passphrase=passphrase)


def request_download(
    services: Services, order_id: int, *, user_id: str, raw: Mapping[str, Any]
) -> KeyRequest:
    """Check the owner's download request and audit it (the format, never the passphrase)."""
    with services.sessions.begin() as session:
        order = owned_order(session, services, order_id, user_id=user_id)
        stored_key(session, order)
        request = check_request(order, raw)
        queries.record(
            session, order_id=order_id, actor=user_id, action="key_requested", format=request.fmt
        )
        return request


def deliver_key(services: Services, request: KeyRequest, *, user_id: str) -> DeliveredFile:
    """Decrypt, export and upload the key to the owner's DM (after the ack), say how to remove."""
    from bot.views.keys import key_delivered_message

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
        title=f"{ref} private key ({_TITLE_WORDS[request.fmt]})",
        delete_after=delete_after,
    )
    text, blocks = key_delivered_message(
        ref=ref, order_id=request.order_id, delivered=delivered, fmt=request.fmt
    )
    services.notifier.dm(user_id, text=text, blocks=blocks)
    return delivered


def _open_key(
    services: Services, order_id: int, sealed: Sealed, *, ref: str, user_id: str
) -> bytes:
    try:
        return services.custody.open(sealed, context=key_context(order_id))
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
