"""Private keys over signed HTTP: download in each format, who may, delete, purge, expiry."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import select, text
from support.app_fixtures import ADMIN, ALICE, BOB, CAROL, Running, wait_for
from support.forms import GOOD_DV
from support.journeys import open_complete, register
from support.keys import (
    PASSPHRASE,
    download_encrypted_pem,
    issue_certificate,
    key_files,
    open_download,
    status_message,
    stored_key_pem,
    submitted_order,
)

from bot import key_download as keys
from bot.orders.key_files import delete_expired_key_files
from bot.views import ids
from storage import queries
from storage.models import DeliveredFile, PrivateKey, Watcher, utcnow


def test_owner_gets_a_passphrase_protected_key_in_their_dm_only(
    certdesk: Running, tmp_path: Path
) -> None:
    order_id = submitted_order(certdesk)
    view = open_download(certdesk, order_id)
    offered = [o["value"] for b in view["blocks"] if b.get("block_id") == ids.KEY_FORMAT
               for o in b["element"]["options"]]  # fmt: skip
    assert offered == [keys.PEM_ENCRYPTED, keys.PEM_PLAIN], "no PFX before issuance"
    (key_file,) = download_encrypted_pem(certdesk)
    alice_dm = certdesk.emulator.dm_channel(ALICE)
    assert key_file.channels == [alice_dm]
    # The CSR went to the same DM and nowhere else.
    (csr_file,) = [f for f in certdesk.emulator.files if f.filename.endswith(".csr.pem")]
    assert csr_file.channels == [alice_dm]
    # The file opens with the passphrase, is the stored key, and uses the strong KDF.
    assert key_file.content.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    opened = serialization.load_pem_private_key(key_file.content, PASSPHRASE.encode())
    stored = serialization.load_pem_private_key(stored_key_pem(certdesk, order_id), None)
    assert opened.public_key() == stored.public_key()
    (tmp_path / "k.pem").write_bytes(key_file.content)
    parsed = subprocess.run(
        ["openssl", "asn1parse", "-in", "k.pem"], cwd=tmp_path, capture_output=True, check=True
    ).stdout.decode()
    assert "PBKDF2" in parsed.upper() and ":0927C0" in parsed.upper()  # 600,000 rounds
    dm = wait_for(lambda: [m for m in certdesk.emulator.dms_to(ALICE) if ":key:" in str(m.blocks)])
    shown = str(dm[-1].blocks)
    assert ids.DELETE_KEY_FILE in shown and ids.PURGE_KEY in shown and "CD-" in dm[-1].text
    with certdesk.services.sessions.begin() as session:
        trail = queries.audit_trail(session, order_id)
    requested = [e for e in trail if e.action == "key_requested"]
    assert requested and requested[0].actor == ALICE
    assert requested[0].detail == {"format": "pem_encrypted"}
    assert any(e.action == "key_delivered" and e.detail["to"] == ALICE for e in trail)
    assert PASSPHRASE not in str([e.detail for e in trail])


def test_unencrypted_pem_needs_the_warning_ticked_and_pfx_comes_after_issuance(
    certdesk: Running,
) -> None:
    order_id = submitted_order(certdesk, algorithm="rsa2048")
    open_download(certdesk, order_id)
    body = certdesk.slack.submit_view(ALICE, {ids.KEY_FORMAT: keys.PEM_PLAIN}).json()
    assert body is not None and list(body["errors"]) == [ids.KEY_PLAIN_OK]
    body = certdesk.slack.submit_view(
        ALICE, {ids.KEY_FORMAT: keys.PEM_PLAIN, ids.KEY_PLAIN_OK: ["yes"]}
    ).json()
    assert body is not None and body["response_action"] == "update"
    certdesk.settle()
    (plain_file,) = key_files(certdesk)
    assert plain_file.title == f"CD-{order_id:04d} private key (PEM, no passphrase)"
    assert plain_file.content == serialization.load_pem_private_key(
        stored_key_pem(certdesk, order_id), None
    ).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert "not* protected" in str(certdesk.emulator.dms_to(ALICE)[-1].blocks)

    chain = issue_certificate(certdesk, order_id)
    view = open_download(certdesk, order_id)
    assert "PFX" in str(view["blocks"][1])
    body = certdesk.slack.submit_view(
        ALICE,
        {ids.KEY_FORMAT: keys.PFX, ids.KEY_PASSPHRASE: PASSPHRASE,
         ids.KEY_PASSPHRASE_AGAIN: PASSPHRASE},
    ).json()  # fmt: skip
    assert body is not None and body["response_action"] == "update"
    certdesk.settle()
    pfx = next(f for f in key_files(certdesk) if f.filename.endswith(".pfx"))
    assert pfx.channels == [certdesk.emulator.dm_channel(ALICE)]
    assert pfx.title == f"CD-{order_id:04d} private key (PFX, passphrase-protected)"
    key, cert, _extra = pkcs12.load_key_and_certificates(pfx.content, PASSPHRASE.encode())
    assert cert == x509.load_pem_x509_certificates(chain)[0]
    assert key is not None and key.public_key() == cert.public_key()


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({ids.KEY_PASSPHRASE: "short", ids.KEY_PASSPHRASE_AGAIN: "short"}, ids.KEY_PASSPHRASE,
         "at least 12"),
        ({ids.KEY_PASSPHRASE: PASSPHRASE, ids.KEY_PASSPHRASE_AGAIN: PASSPHRASE + "!"},
         ids.KEY_PASSPHRASE_AGAIN, "differ"),
        ({}, ids.KEY_PASSPHRASE, "at least 12"),
    ],
)  # fmt: skip
def test_passphrase_mistakes_are_field_errors_and_send_nothing(
    certdesk: Running, values: dict, field: str, words: str
) -> None:
    order_id = submitted_order(certdesk)
    open_download(certdesk, order_id)
    body = certdesk.slack.submit_view(ALICE, {ids.KEY_FORMAT: keys.PEM_ENCRYPTED, **values}).json()
    assert body is not None and body["response_action"] == "errors"
    assert list(body["errors"]) == [field] and words in body["errors"][field]
    certdesk.settle()
    assert key_files(certdesk) == []


def test_watcher_stranger_and_admin_get_a_refusal_and_no_file(certdesk: Running) -> None:
    order_id = submitted_order(certdesk)
    with certdesk.services.sessions.begin() as session:
        session.add(Watcher(order_id=order_id, user_id=CAROL, added_by=ALICE))
    alices = status_message(certdesk, ALICE, order_id)
    assert ids.DOWNLOAD_KEY in str(alices.blocks)
    alice_view = open_download(certdesk, order_id)
    good = {
        ids.KEY_FORMAT: keys.PEM_ENCRYPTED,
        ids.KEY_PASSPHRASE: PASSPHRASE,
        ids.KEY_PASSPHRASE_AGAIN: PASSPHRASE,
    }
    for other, words in ((CAROL, "watching"), (BOB, "don't have access"), (ADMIN, "belongs to")):
        opened = len(certdesk.emulator.calls_to("views.open"))
        # A replayed button from Alice's message...
        certdesk.click(other, ids.DOWNLOAD_KEY, message=alices)
        certdesk.settle()
        assert len(certdesk.emulator.calls_to("views.open")) == opened
        assert certdesk.emulator.current_view(other) is None
        assert words in certdesk.emulator.dms_to(other)[-1].text
        # ...and Alice's modal submitted as theirs.
        body = certdesk.slack.submit_view(other, good, view=alice_view).json()
        assert body is not None and words in str(body["view"]), body
    certdesk.settle()
    assert key_files(certdesk) == []
    # A watcher's status card has no download button; the admin's click was refused above.
    assert ids.DOWNLOAD_KEY not in str(status_message(certdesk, CAROL, order_id).blocks)


def download(certdesk: Running, order_id: int) -> None:
    open_download(certdesk, order_id)
    certdesk.slack.submit_view(
        ALICE,
        {ids.KEY_FORMAT: keys.PEM_PLAIN, ids.KEY_PLAIN_OK: ["yes"]},
    )
    certdesk.settle()


def test_owner_deletes_the_file_then_purges_the_key(certdesk: Running) -> None:
    order_id = submitted_order(certdesk)
    # Nothing to purge before a download.
    card = status_message(certdesk, ALICE, order_id)
    certdesk.click(ALICE, ids.PURGE_KEY, value=str(order_id), message=card)
    certdesk.settle()
    assert "before purging" in certdesk.emulator.dms_to(ALICE)[-1].text
    download(certdesk, order_id)
    delivery = certdesk.emulator.dms_to(ALICE)[-1]
    (key_file,) = key_files(certdesk)
    # Bob replays the delete button: refused, the file stays.
    certdesk.click(BOB, ids.DELETE_KEY_FILE, message=delivery)
    certdesk.settle()
    assert not certdesk.emulator.files[-1].deleted
    assert "don't have access" in certdesk.emulator.dms_to(BOB)[-1].text
    certdesk.click(ALICE, ids.DELETE_KEY_FILE, message=delivery)
    certdesk.settle()
    assert next(f for f in certdesk.emulator.files if f.id == key_file.id).deleted
    assert "Deleted" in certdesk.emulator.dms_to(ALICE)[-1].text
    # The admin cannot purge; the owner can, after a plain warning.
    certdesk.click(ADMIN, ids.PURGE_KEY, message=delivery)
    certdesk.settle()
    assert certdesk.emulator.current_view(ADMIN) is None
    certdesk.click(ALICE, ids.PURGE_KEY, message=delivery)
    view = certdesk.emulator.current_view(ALICE)
    assert view is not None and view["callback_id"] == ids.CONFIRM_PURGE_KEY
    assert "nobody can download" in str(view["blocks"])
    body = certdesk.slack.submit_view(ALICE, {}).json()
    assert body is not None and "purged" in str(body["view"])
    with certdesk.services.sessions.begin() as session:
        row = session.get(PrivateKey, order_id)
        assert row is not None and row.ciphertext is None and row.purged_at is not None
        actions = [e.action for e in queries.audit_trail(session, order_id)]
        deleted = session.scalars(select(DeliveredFile).where(DeliveredFile.kind == "key")).one()
    assert {"key_requested", "key_delivered", "key_file_deleted", "key_purged"} <= set(actions)
    assert deleted.deleted_at is not None
    assert ids.DOWNLOAD_KEY not in str(status_message(certdesk, ALICE, order_id).blocks)
    certdesk.click(ALICE, ids.DOWNLOAD_KEY, value=str(order_id), message=delivery)
    certdesk.settle()
    assert "was purged" in certdesk.emulator.dms_to(ALICE)[-1].text


def test_expired_key_files_are_deleted_and_slack_failures_retried(certdesk: Running) -> None:
    services = certdesk.services
    order_id = submitted_order(certdesk)
    download(certdesk, order_id)
    download(certdesk, order_id)
    assert len(key_files(certdesk)) == 2
    later = utcnow() + services.settings.key_file_ttl + timedelta(seconds=1)
    assert delete_expired_key_files(services, now=utcnow()) == 0
    # Slack keeps failing on the first delete (the client's own retries included): left for later.
    certdesk.emulator.fail_next("files.delete", status=500, times=3)
    assert delete_expired_key_files(services, now=later) == 1
    (left,) = [f for f in key_files(certdesk) if not f.deleted]
    # Meanwhile it disappeared from Slack: that counts as deleted.
    services.notifier.delete_file(left.id)
    assert delete_expired_key_files(services, now=later) == 1
    assert delete_expired_key_files(services, now=later) == 0
    with services.sessions.begin() as session:
        trail = queries.audit_trail(session, order_id)
    expired = [e for e in trail if e.action == "key_file_deleted"]
    assert len(expired) == 2 and {e.actor for e in expired} == {"system"}


def test_key_is_ciphertext_in_the_database(start_certdesk, database_url: str) -> None:  # noqa: ANN001
    certdesk = start_certdesk(DATABASE_URL=database_url)
    order_id = submitted_order(certdesk, algorithm="rsa2048")
    plain = stored_key_pem(certdesk, order_id)
    der = serialization.load_pem_private_key(plain, None).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with certdesk.services.engine.connect() as connection:
        row = connection.execute(text("SELECT ciphertext, key_id FROM private_keys")).one()
    stored = bytes(row[0])
    assert b"PRIVATE KEY" not in stored and plain not in stored and der[-64:] not in stored
    assert len(stored) == len(plain) + 16  # AES-GCM: same length plus the tag
    assert row[1] == certdesk.services.custody.current_key_id
    csr = x509.load_pem_x509_csr(certdesk.emulator.files[0].content)
    assert csr.public_key() == serialization.load_pem_private_key(plain, None).public_key()


def test_certdesk_started_with_another_master_key_says_so(start_certdesk) -> None:  # noqa: ANN001
    first = start_certdesk()
    order_id = submitted_order(first)
    database = first.services.settings.database_url
    first.http.stop()
    other = start_certdesk(DATABASE_URL=database, CERTDESK_MASTER_KEY="A" * 43 + "=")
    open_download(other, order_id)
    other.slack.submit_view(ALICE, {ids.KEY_FORMAT: keys.PEM_PLAIN, ids.KEY_PLAIN_OK: ["yes"]})
    other.settle()
    told = other.emulator.dms_to(ALICE)[-1].text
    assert "different master key" in told and "not lost" in told and "CD-0001" in told
    assert key_files(other) == []


# --- CSRs people bring: pasted or attached as a file -----------------------------------------


def bad_csrs(maker: str, tmp: Path) -> list[tuple[bytes, str]]:
    """(CSR bytes, words the field error must contain) for every error class, made by ``maker``."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from support.csrs import (
        corrupt_signature,
        crypto_csr,
        issue,
        key_pem,
        openssl,
        openssl_csr,
        openssl_key,
        rsa_key,
    )

    if maker == "cryptography":
        p256 = ec.generate_private_key(ec.SECP256R1())
        good = crypto_csr(p256, ["shop.example.com"])
        chain, _ = issue(key_pem(p256), ["shop.example.com"])
        return [
            (chain, "certificate, not a CSR"),
            (good[: len(good) // 2], "cut off"),
            (corrupt_signature(crypto_csr(rsa_key(), ["shop.example.com"])), "signature"),
            (crypto_csr(rsa_key(1024), ["shop.example.com"]), "at least RSA 2048"),
            (crypto_csr(ec.generate_private_key(ec.SECP256K1()), ["shop.example.com"]),
             "secp256k1"),
            (crypto_csr(rsa_key(), ["shop.example.com"], digest="sha1"), "SHA-1"),
            (crypto_csr(p256, ["www.example.com"]), "Missing from the CSR: shop.example.com"),
            (crypto_csr(p256, ["shop.example.com"], country="UK"), "“GB”"),
        ]  # fmt: skip
    good = openssl_csr(tmp, subj="/CN=shop.example.com")
    der = bytearray(openssl_csr(tmp, subj="/CN=shop.example.com", outform="DER"))
    der[-1] ^= 0x80
    bad_signature = openssl("req", "-inform", "DER", "-outform", "PEM", cwd=tmp, stdin=bytes(der))
    return [
        (openssl_key(tmp, "prime256v1").read_bytes(), "private key, not a CSR"),
        (good[: len(good) // 2], "cut off"),
        (bad_signature, "signature"),
        (openssl_csr(tmp, newkey="rsa:1024", subj="/CN=shop.example.com"), "at least RSA 2048"),
        (openssl_csr(tmp, key=openssl_key(tmp, "secp256k1"), subj="/CN=shop.example.com"),
         "secp256k1"),
        (openssl_csr(tmp, subj="/CN=shop.example.com", digest="sha1"), "SHA-1"),
        (openssl_csr(tmp, subj="/CN=shop.example.com", san=["shop.example.com", "extra.test"]),
         "In the CSR but not in the order: extra.test"),
        (openssl_csr(tmp, subj="/C=UK/CN=shop.example.com"), "“GB”"),
    ]  # fmt: skip


def as_der(data: bytes) -> bytes:
    """A CSR as DER when it is one (files may come either way); anything else unchanged."""
    try:
        return x509.load_pem_x509_csr(data).public_bytes(serialization.Encoding.DER)
    except ValueError:
        return data


UPLOAD = {**GOOD_DV, ids.DOMAINS: "shop.example.com", ids.CSR_METHOD: "upload"}


def single_domain_order(certdesk: Running) -> str:
    ref = register(certdesk, ALICE, **{ids.DOMAIN_TYPE: "single", ids.DOMAIN_COUNT: "1"})
    open_complete(certdesk, ALICE, ref)
    return ref


@pytest.mark.parametrize("how", ["paste", "file PEM", "file DER"])
@pytest.mark.parametrize("maker", ["cryptography", "openssl"])
def test_every_bad_csr_gets_a_field_error_on_its_own_input(
    certdesk: Running, tmp_path: Path, maker: str, how: str
) -> None:
    single_domain_order(certdesk)
    field = ids.CSR_TEXT if how == "paste" else ids.CSR_FILE
    for data, words in bad_csrs(maker, tmp_path):
        if how == "paste":
            given: dict = {ids.CSR_TEXT: data.decode(), ids.CSR_FILE: []}
        else:
            content = as_der(data) if how == "file DER" else data
            given = {ids.CSR_TEXT: "", ids.CSR_FILE: {"filename": "my.csr", "content": content}}
        body = certdesk.slack.submit_view(ALICE, {**UPLOAD, **given}).json()
        assert body is not None and body["response_action"] == "errors", (words, body)
        assert list(body["errors"]) == [field], body
        assert words in body["errors"][field], (words, body["errors"][field])


def test_a_good_der_csr_file_is_accepted_and_comes_back_only_to_the_owner(
    certdesk: Running, tmp_path: Path
) -> None:
    from support.csrs import openssl_csr

    ref = single_domain_order(certdesk)
    der = openssl_csr(tmp_path, subj="/CN=shop.example.com", outform="DER")
    body = certdesk.slack.submit_view(
        ALICE, {**UPLOAD, ids.CSR_FILE: {"filename": "shop.der", "content": der}}
    ).json()
    assert body is not None and body["response_action"] == "push", body
    assert certdesk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    certdesk.settle()
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None and order.csr_pem and order.private_key is None
        assert (
            x509.load_pem_x509_csr(order.csr_pem.encode()).public_bytes(serialization.Encoding.DER)
            == der
        )
    (sent,) = [f for f in certdesk.emulator.files if f.filename.endswith(".csr.pem")]
    assert sent.channels == [certdesk.emulator.dm_channel(ALICE)]
    # certdesk never had this order's key, so there is nothing to download.
    assert ids.DOWNLOAD_KEY not in str(status_message(certdesk, ALICE, int(ref[3:])).blocks)


def test_pasting_and_attaching_at_once_is_refused(certdesk: Running, tmp_path: Path) -> None:
    from support.csrs import openssl_csr

    single_domain_order(certdesk)
    pem = openssl_csr(tmp_path, subj="/CN=shop.example.com")
    body = certdesk.slack.submit_view(
        ALICE,
        {**UPLOAD, ids.CSR_TEXT: pem.decode(),
         ids.CSR_FILE: {"filename": "shop.csr", "content": pem}},
    ).json()  # fmt: skip
    assert body is not None and list(body["errors"]) == [ids.CSR_FILE]
    assert "keep just one" in body["errors"][ids.CSR_FILE]


def test_the_bot_token_only_goes_to_slack(certdesk: Running) -> None:
    forged = {"name": "x.csr", "url_private_download": "https://attacker.example/x.csr"}
    fetched = certdesk.services.notifier.download(forged)
    assert fetched.content == b"" and fetched.problem and "not stored on Slack" in fetched.problem
