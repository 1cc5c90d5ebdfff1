"""Private-key journeys over signed HTTP: an order with a certdesk-made key, and its download."""

from __future__ import annotations

from bot import key_download
from bot.crypto import Sealed
from bot.crypto import order_key_context as key_context
from bot.emulator import Message
from bot.views import ids
from storage.models import Order, PrivateKey
from support.app_fixtures import ALICE, Running
from support.csrs import issue
from support.forms import GOOD_DV
from support.journeys import open_complete, register

PASSPHRASE = "correct horse battery staple"


def submitted_order(certdesk: Running, *, user: str = ALICE, algorithm: str = "p256") -> int:
    """Register, complete with a certdesk-made key and submit; the key exists once settled."""
    ref = register(certdesk, user)
    open_complete(certdesk, user, ref)
    assert certdesk.slack.submit_view(user, {**GOOD_DV, ids.KEY_ALGORITHM: algorithm}).json()
    assert certdesk.slack.submit_view(user, {}).json() == {"response_action": "clear"}
    certdesk.settle()
    return int(ref[3:])


def stored_key_pem(certdesk: Running, order_id: int) -> bytes:
    """The order's private key, opened from custody."""
    with certdesk.services.sessions.begin() as session:
        row = session.get(PrivateKey, order_id)
        assert row is not None and row.ciphertext is not None
        sealed = Sealed(key_id=row.key_id, nonce=row.nonce, ciphertext=row.ciphertext)
    return certdesk.services.custody.open(sealed, context=key_context(order_id))


def status_message(certdesk: Running, user: str, order_id: int) -> Message:
    """`/cert status` as ``user``: the ephemeral card with the order's buttons."""
    certdesk.slack.slash_command(user, f"status CD-{order_id:04d}")
    return certdesk.emulator.ephemerals_to(user)[-1]


def open_download(certdesk: Running, order_id: int, *, user: str = ALICE) -> dict:
    """Click Download private key on the status card; the modal ``user`` now sees."""
    certdesk.click(user, ids.DOWNLOAD_KEY, message=status_message(certdesk, user, order_id))
    view = certdesk.emulator.current_view(user)
    assert view is not None and view["callback_id"] == ids.KEY_DOWNLOAD
    return view


def download_encrypted_pem(certdesk: Running, *, user: str = ALICE) -> list:
    """Submit the open download modal for a PEM under PASSPHRASE; the key files sent, settled."""
    answer = certdesk.slack.submit_view(
        user,
        {
            ids.KEY_FORMAT: key_download.PEM_ENCRYPTED,
            ids.KEY_PASSPHRASE: PASSPHRASE,
            ids.KEY_PASSPHRASE_AGAIN: PASSPHRASE,
        },
    ).json()
    assert answer is not None and answer["response_action"] == "update"
    certdesk.settle()
    return key_files(certdesk)


def key_files(certdesk: Running) -> list:
    """Key files (PEM or PFX) uploaded to the emulator."""
    return [f for f in certdesk.emulator.files if ".key.pem" in f.filename or ".pfx" in f.filename]


def issue_certificate(certdesk: Running, order_id: int) -> bytes:
    """Pretend the CA issued: a real chain for the stored key (the polling code does this)."""
    chain, _ca = issue(stored_key_pem(certdesk, order_id), ["example.com", "www.example.com"])
    with certdesk.services.sessions.begin() as session:
        order = session.get(Order, order_id)
        assert order is not None
        order.certificate_pem, order.state = chain.decode(), "issued"
    return chain
