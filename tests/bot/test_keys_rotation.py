"""Master key rotation: `certdesk keys rotate` with a key file or the environment; crashes."""

from __future__ import annotations

import base64
import logging
import secrets
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import cli, keys_rotation
from bot.app import build_services
from bot.config import Settings
from bot.crypto import Custody, Sealed, parse_master_key
from bot.crypto import order_key_context as key_context
from bot.errors import ConfigError, CustodyError
from storage import db
from storage.models import Order, PrivateKey, SealedSecret, utcnow

KEYS = {
    order_id: f"-----BEGIN PRIVATE KEY-----\nkey {order_id}\n".encode() for order_id in (1, 2, 3)
}
SECRET = b"an ACME account key"


def new_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def env(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment `certdesk` runs with (set for real, since the CLI reads os.environ)."""
    values = {"CERTDESK_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url}
    for name in ("CERTDESK_MASTER_KEY", "CERTDESK_PREVIOUS_MASTER_KEYS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return values


def seeded(env: dict[str, str]) -> tuple[Settings, Custody]:
    """A migrated database with three sealed keys (one purged) and a sealed secret."""
    settings = Settings.load(env)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    custody = keys_rotation.master_keys(settings).custody()
    with db.session_factory(engine).begin() as session:
        for order_id, pem in KEYS.items():
            session.add(
                Order(id=order_id, team_id="T1", requester_id="U1", product="dv",
                      domain_type="single", domain_count=1, validity_days=90, state="submitted")
            )  # fmt: skip
            sealed = custody.seal(pem, context=key_context(order_id))
            session.add(
                PrivateKey(order_id=order_id, algorithm="p256", key_id=sealed.key_id,
                           nonce=sealed.nonce, ciphertext=sealed.ciphertext)
            )  # fmt: skip
        session.flush()
        purged = session.get(PrivateKey, 3)
        assert purged is not None
        purged.ciphertext, purged.purged_at = None, utcnow()
        sealed = custody.seal(SECRET, context=b"acme-account:x")
        session.add(SealedSecret(name="acme-account:x", key_id=sealed.key_id,
                                 nonce=sealed.nonce, ciphertext=sealed.ciphertext))  # fmt: skip
    engine.dispose()
    return settings, custody


def rows(settings: Settings) -> list[tuple[bytes, Sealed]]:
    """(context, sealed) for every stored key and secret."""
    engine = db.make_engine(settings.database_url)
    found = []
    with db.session_factory(engine).begin() as session:
        for row in session.scalars(select(PrivateKey).where(PrivateKey.ciphertext.is_not(None))):
            assert row.ciphertext is not None
            found.append((key_context(row.order_id), Sealed(row.key_id, row.nonce, row.ciphertext)))
        for secret in session.scalars(select(SealedSecret)):
            found.append((secret.name.encode(), Sealed(secret.key_id, secret.nonce,
                                                       secret.ciphertext)))  # fmt: skip
    engine.dispose()
    return found


def opens_all(custody: Custody, settings: Settings) -> bool:
    plain = sorted(custody.open(s, context=c) for c, s in rows(settings))
    return plain == sorted([KEYS[1], KEYS[2], SECRET])


def opens_none(custody: Custody, settings: Settings) -> bool:
    for context, sealed in rows(settings):
        with pytest.raises(CustodyError):
            custody.open(sealed, context=context)
    return True


def test_key_file_rotation_leaves_every_key_under_the_new_key_only(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    settings, old = seeded(env)
    path = keys_rotation.key_file(settings)
    old_text = path.read_bytes()
    assert cli.main(["keys", "rotate"]) == 0
    said = capsys.readouterr().out
    new_key = parse_master_key(path.read_text())
    new = Custody(new_key)
    assert f"Re-encrypted 3 stored key(s) under master key {new.current_key_id}" in said
    assert {s.key_id for _, s in rows(settings)} == {new.current_key_id}
    assert opens_all(new, settings) and opens_none(old, settings)
    # The old key is kept beside it, both private; nothing half-done is left behind.
    previous = path.with_name("master.key.previous")
    assert previous.read_bytes() == old_text
    for file in (path, previous):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert not path.with_name("master.key.next").exists()
    # certdesk starts on it and seals new keys under the new key.
    assert build_services(settings).custody.current_key_id == new.current_key_id


def test_a_rotation_interrupted_midway_leaves_every_key_readable_and_finishes_on_rerun(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, old = seeded(env)
    real = keys_rotation._reseal
    calls = 0

    def crash_on_second(*args: object, **kwargs: object) -> Sealed:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt  # the operator's ^C, or the machine going down
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(keys_rotation, "_reseal", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        keys_rotation.rotate_key_file(
            settings, db.session_factory(db.make_engine(settings.database_url))
        )
    monkeypatch.setattr(keys_rotation, "_reseal", real)
    assert len({s.key_id for _, s in rows(settings)}) == 2, "half old, half new"
    # What certdesk starts with now (master.key plus master.key.next) reads everything.
    assert opens_all(build_services(settings).custody, settings)
    assert cli.main(["keys", "rotate"]) == 0
    new = Custody(parse_master_key(keys_rotation.key_file(settings).read_text()))
    assert opens_all(new, settings) and opens_none(old, settings)


def test_environment_key_rotation(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = new_key_text()
    env["CERTDESK_MASTER_KEY"] = first
    monkeypatch.setenv("CERTDESK_MASTER_KEY", first)
    settings, old = seeded(env)
    assert not keys_rotation.key_file(settings).exists(), "no key file in environment mode"
    # Without the new key: a sentence saying how to give it, and nothing changed.
    assert cli.main(["keys", "rotate"]) == 2
    assert "--new-key-env NEW_KEY" in capsys.readouterr().err
    assert cli.main(["keys", "rotate", "--new-key-env", "NEW_KEY"]) == 2
    assert "NEW_KEY: not set" in capsys.readouterr().err
    monkeypatch.setenv("NEW_KEY", "not a key")
    assert cli.main(["keys", "rotate", "--new-key-env", "NEW_KEY"]) == 2
    assert "NEW_KEY decodes to 5 bytes, not 32" in capsys.readouterr().err
    assert opens_all(old, settings)
    second = new_key_text()
    monkeypatch.setenv("NEW_KEY", second)
    assert cli.main(["keys", "rotate", "--new-key-env", "NEW_KEY"]) == 0
    assert "set CERTDESK_MASTER_KEY to the value of NEW_KEY" in capsys.readouterr().out
    new = Custody(parse_master_key(second))
    assert opens_all(new, settings) and opens_none(old, settings)
    # Running it again is harmless.
    assert cli.main(["keys", "rotate", "--new-key-env", "NEW_KEY"]) == 0
    assert "(3 already were)" in capsys.readouterr().out


def test_a_lost_key_file_stops_start_up_instead_of_making_a_new_one(env: dict[str, str]) -> None:
    settings, old = seeded(env)
    keys_rotation.key_file(settings).unlink()
    with pytest.raises(ConfigError, match="master key file is missing.*Restore master.key"):
        build_services(settings)
    assert not keys_rotation.key_file(settings).exists()


def test_a_different_master_key_is_named_at_start_up(
    env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    settings, old = seeded(env)
    other = Settings.load({**env, "CERTDESK_MASTER_KEY": new_key_text()})
    with caplog.at_level(logging.ERROR, logger="bot.keys_rotation"):
        custody = build_services(other).custody
    assert old.current_key_id in caplog.text and "CERTDESK_PREVIOUS_MASTER_KEYS" in caplog.text
    assert opens_none(custody, settings)
    # Given as a previous key, the old one opens them again.
    old_text = keys_rotation.key_file(settings).read_text().strip()
    both = Settings.load({**env, "CERTDESK_MASTER_KEY": new_key_text(),
                          "CERTDESK_PREVIOUS_MASTER_KEYS": old_text})  # fmt: skip
    assert opens_all(build_services(both).custody, settings)


def test_a_malformed_previous_key_names_its_variable(env: dict[str, str]) -> None:
    settings = Settings.load({**env, "CERTDESK_PREVIOUS_MASTER_KEYS": "abc"})
    with pytest.raises(ConfigError, match="CERTDESK_PREVIOUS_MASTER_KEYS"):
        keys_rotation.master_keys(settings)
