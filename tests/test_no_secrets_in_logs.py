"""Every log record over a whole journey, at DEBUG everywhere, and no secret in any of them.

Register, complete, submit with a certdesk-made key, issuance, and the key downloaded in each
format: the private key (PEM, or base64/hex windows of its DER), the passphrases, the master
key, the bot token and the signing secret must appear in no log record of any logger —
certdesk's, Bolt's, slack_sdk's, urllib3's, SQLAlchemy's (which logs every row at DEBUG) or
the emulator's — neither as the records' text nor as the JSON lines LOG_FORMAT=json writes.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from support.app_fixtures import ALICE, SECRET, TEAM, TOKEN, Running, wait_for

sys.path.append(str(Path(__file__).resolve().parent / "handlers"))
from test_commands import register  # noqa: E402
from test_complete import GOOD_DV, open_complete  # noqa: E402

from bot import key_download as keys  # noqa: E402
from bot import logs  # noqa: E402
from bot.ca.simulated import mailer  # noqa: E402
from bot.crypto import Sealed  # noqa: E402
from bot.crypto import order_key_context as key_context  # noqa: E402
from bot.demo import browser  # noqa: E402
from bot.orders.polling import poll_order  # noqa: E402
from bot.views import ids  # noqa: E402
from storage.models import Order, PrivateKey  # noqa: E402

PASSPHRASES = {keys.PEM_ENCRYPTED: "ribbon-lantern-quartz-47", keys.PFX: "mosaic-harbor-velvet-93"}
NOISY = ("", "slack_sdk", "slack_bolt", "urllib3", "sqlalchemy.engine", "sqlalchemy.pool", "bot")
WINDOW = 40


class Everything(logging.Handler):
    """Keeps every record's final text: message, arguments applied, and any traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "".join(traceback.format_exception(*record.exc_info))
        if record.stack_info:
            text += record.stack_info
        self.texts.append(text)


@pytest.fixture
def json_lines() -> io.StringIO:
    """What certdesk's LOG_FORMAT=json handler writes, kept in memory."""
    return io.StringIO()


@pytest.fixture
def every_log_record(json_lines: io.StringIO) -> Iterator[Everything]:
    handler = Everything()
    as_json = logs.handler("json", stream=json_lines)
    as_json.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in NOISY]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    logging.getLogger().addHandler(handler)
    logging.getLogger().addHandler(as_json)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().removeHandler(as_json)
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled


def windows(text: str) -> set[str]:
    """Overlapping fixed-size pieces: any leak of 2×WINDOW characters contains one."""
    step = WINDOW // 2
    return {text[i : i + WINDOW] for i in range(0, max(1, len(text) - WINDOW + 1), step)}


def secrets_of(key_pem: bytes) -> set[str]:
    """Telltale pieces of a private key: base64 and hex of its DER."""
    key = serialization.load_pem_private_key(key_pem, None)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return windows(base64.b64encode(der).decode()) | windows(der.hex())


def download(desk: Running, order_id: int, fmt: str) -> None:
    desk.slack.slash_command(ALICE, f"status CD-{order_id:04d}")
    desk.slack.click(ALICE, ids.DOWNLOAD_KEY, message=desk.emulator.ephemerals_to(ALICE)[-1])
    values: dict[str, object] = {ids.KEY_FORMAT: fmt}
    if fmt == keys.PEM_PLAIN:
        values[ids.KEY_PLAIN_OK] = ["yes"]
    else:
        values[ids.KEY_PASSPHRASE] = values[ids.KEY_PASSPHRASE_AGAIN] = PASSPHRASES[fmt]
    body = desk.slack.submit_view(ALICE, values).json()
    assert body is not None and body["response_action"] == "update", body
    desk.settle()


def test_no_secret_in_any_log_record(  # noqa: ANN001
    start_certdesk, every_log_record: Everything, json_lines: io.StringIO
) -> None:
    desk: Running = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    services = desk.services
    ref = register(desk, ALICE)
    order_id = int(ref[3:])
    open_complete(desk, ALICE, ref)
    desk.slack.submit_view(ALICE, {**GOOD_DV, ids.KEY_ALGORITHM: "rsa2048"})
    assert desk.slack.submit_view(ALICE, {}).json() == {"response_action": "clear"}
    desk.settle()
    for fmt in (keys.PEM_ENCRYPTED, keys.PEM_PLAIN):
        download(desk, order_id, fmt)
    # Through the CA: review, the verification link followed over HTTP, issuance.
    poll_order(services, order_id)
    with services.sessions.begin() as session:
        order = session.get(Order, order_id)
        assert order is not None and order.ca_ref
        ca_ref = order.ca_ref
    link = mailer.verification_links(services.settings.data_dir / "mail", ca_ref=ca_ref)[-1]
    confirm = desk.http.url + urlsplit(link).path
    assert browser.press_button(browser.open_page(confirm)).status == 200  # the page's button

    def issued() -> bool:
        poll_order(services, order_id)
        desk.settle()
        return any("is issued" in m.text for m in desk.emulator.dms_to(ALICE))

    wait_for(issued, timeout=10, what="issuance")
    download(desk, order_id, keys.PFX)
    sent = [f for f in desk.emulator.files if f.filename.startswith("cd-0001.")]
    assert {f.filename.split(".", 1)[1] for f in sent} >= {
        "csr.pem", "key.pem", "UNENCRYPTED.key.pem", "pfx", "fullchain.pem"
    }  # fmt: skip

    with services.sessions.begin() as session:
        row = session.get(PrivateKey, order_id)
        assert row is not None and row.ciphertext is not None
        sealed = Sealed(key_id=row.key_id, nonce=row.nonce, ciphertext=row.ciphertext)
    key_pem = services.custody.open(sealed, context=key_context(order_id))
    master = (services.settings.data_dir / "master.key").read_text().strip()
    needles = secrets_of(key_pem) | set(PASSPHRASES.values()) | {master, "PRIVATE KEY-----"}
    needles |= {TOKEN, SECRET}
    texts = every_log_record.texts
    assert len(texts) > 500, "DEBUG logging was on (Bolt, slack_sdk, SQLAlchemy rows)"
    assert any("SELECT" in t for t in texts) and any("chat.postMessage" in t for t in texts)
    # LOG_FORMAT=json: one object per line, each with level, logger and message, the context
    # where known; searched as written and as decoded (JSON escapes newlines in a PEM).
    lines = json_lines.getvalue().splitlines()
    objects = [json.loads(line) for line in lines]
    assert len(objects) == len(texts)
    assert all({"time", "level", "logger", "message"} <= set(o) for o in objects)
    assert {o["level"] for o in objects} >= {"DEBUG", "INFO"}
    tagged = [o for o in objects if o.get("order_ref") == "CD-0001"]
    assert tagged and any(o.get("team") == TEAM and o.get("request_id") for o in tagged)
    written = texts + lines + [o["message"] + o.get("exception", "") for o in objects]
    found = sorted({n for n in needles for t in written if n in t})
    assert not found, f"secrets in the logs: {[f[:12] + '…' for f in found]}"
