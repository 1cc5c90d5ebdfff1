"""The restore drill: back up a running store, restore it into a fresh data dir with the
master key, start certdesk on it and download a key sealed before the backup."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from support.app_fixtures import ALICE, Running, certdesk_env
from support.keys import (
    PASSPHRASE,
    download_encrypted_pem,
    issue_certificate,
    open_download,
    stored_key_pem,
    submitted_order,
)

from bot.emulator import Emulator
from bot.errors import ConfigError
from storage.models import AuditEvent, Order


def certdesk_cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_restore_drill(
    start_certdesk: Callable[..., Running], emulator: Emulator, tmp_path: Path
) -> None:
    desk = start_certdesk()
    order_id = submitted_order(desk)  # a key certdesk generated and sealed
    chain = issue_certificate(desk, order_id)
    sealed_before = stored_key_pem(desk, order_id)
    data = desk.services.settings.data_dir
    master = (data / "master.key").read_bytes()

    # Back up while certdesk runs and something keeps writing.
    writing, written = threading.Event(), [0]

    def keep_writing() -> None:
        while not writing.is_set():
            with desk.services.sessions.begin() as session:
                session.add(AuditEvent(order_id=order_id, actor="system", action="drill"))
            written[0] += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    target = tmp_path / "backups" / "certdesk-backup.sqlite3"
    target.parent.mkdir()
    try:
        result = certdesk_cli(certdesk_env(emulator, data), "backup", str(target), cwd=tmp_path)
    finally:
        writing.set()
        writer.join()
    assert result.returncode == 0, result.stderr
    assert written[0] > 0, "the store was written to during the backup"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    told = result.stdout
    assert "1 order(s), 1 sealed secret(s)" in told
    assert f"master key(s) {desk.services.custody.current_key_id}." in told
    assert str(data / "master.key") in told and "apart from it" in told
    assert not list(target.parent.glob("*-wal")) and not list(target.parent.glob("*.partial"))
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    later = submitted_order(desk)  # after the backup: not in it

    # A fresh data dir with the backup alone: certdesk refuses to start without the key.
    fresh = tmp_path / "restored"
    fresh.mkdir(mode=0o700)
    shutil.copyfile(target, fresh / "certdesk.sqlite3")
    with pytest.raises(ConfigError, match="master key file is missing"):
        start_certdesk(CERTDESK_DATA_DIR=str(fresh))
    assert not (fresh / "master.key").exists(), "no new key invented"
    (fresh / "master.key").write_bytes(master)
    (fresh / "master.key").chmod(0o600)
    restored = start_certdesk(CERTDESK_DATA_DIR=str(fresh))
    with restored.services.sessions.begin() as session:
        order = session.get(Order, order_id)
        assert order is not None and order.state == "issued"
        assert session.get(Order, later) is None

    # The owner downloads the key through Slack, from the restored certdesk.
    open_download(restored, order_id)
    (key_file,) = download_encrypted_pem(restored)
    assert key_file.channels == [emulator.dm_channel(ALICE)]
    opened = serialization.load_pem_private_key(key_file.content, PASSPHRASE.encode())
    before = serialization.load_pem_private_key(sealed_before, None)
    assert opened.public_key() == before.public_key()
    assert opened.public_key() == x509.load_pem_x509_certificates(chain)[0].public_key()


def test_postgresql_backup_says_what_to_do_and_fails(
    fresh_postgres: str, emulator: Emulator, tmp_path: Path
) -> None:
    env = certdesk_env(emulator, tmp_path / "data", DATABASE_URL=fresh_postgres)
    result = certdesk_cli(env, "backup", str(tmp_path / "copy"), cwd=tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert "pg_dump" in result.stderr and "pg_restore" in result.stderr
    assert "CERTDESK_MASTER_KEY" in result.stderr
    assert not (tmp_path / "copy").exists() and not (tmp_path / "copy.partial").exists()


def test_backup_refuses_to_overwrite_the_live_database(
    certdesk: Running, emulator: Emulator, tmp_path: Path
) -> None:
    data = certdesk.services.settings.data_dir
    live = data / "certdesk.sqlite3"
    size = live.stat().st_size
    result = certdesk_cli(certdesk_env(emulator, data), "backup", str(live), cwd=tmp_path)
    assert result.returncode == 2 and "that is the live database" in result.stderr
    assert live.stat().st_size == size
