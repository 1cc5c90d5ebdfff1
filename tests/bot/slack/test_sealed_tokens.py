"""Workspace tokens sealed at rest: never plain in the database, bound to their workspace."""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, text

from bot import cli, keys_rotation
from bot.crypto import Custody
from bot.errors import CustodyError
from bot.slack.sealed_tokens import SealedInstallationStore
from storage import db
from storage import sealed as sealed_rows

# A rotating token is much longer than a classic one; sealed, it outgrows String(200).
BOT_TOKEN = "xoxe.xoxb-1-" + "A" * 140
REFRESH_TOKEN = "xoxe-1-" + "R" * 140
USER_TOKEN = "xoxp-1-user"


def installation(team_id: str = "T1") -> Installation:
    return Installation(
        app_id="A1", team_id=team_id, user_id="U1", bot_token=BOT_TOKEN, bot_id="B1",
        bot_user_id="UB1", bot_refresh_token=REFRESH_TOKEN, bot_token_expires_in=43200,
        user_token=USER_TOKEN,
    )  # fmt: skip


def custody() -> Custody:
    return Custody(secrets.token_bytes(32))


def key() -> bytes:
    return secrets.token_bytes(32)


def stored_values(engine: Engine) -> list[str]:
    """Every token value as it sits in the database."""
    with engine.connect() as conn:
        found = [
            *conn.execute(text("SELECT bot_token, bot_refresh_token FROM slack_bots")),
            *conn.execute(
                text(
                    "SELECT bot_token, bot_refresh_token, user_token, user_refresh_token "
                    "FROM slack_installations"
                )
            ),
        ]
    return [value for row in found for value in row if value]


def test_tokens_are_sealed_in_the_database_and_plain_when_found(engine: Engine) -> None:
    store = SealedInstallationStore("1.2", engine, custody=custody())
    given = installation()
    store.save(given)
    assert given.bot_token == BOT_TOKEN  # the caller's object keeps its plain token
    values = stored_values(engine)
    assert len(values) == 5 and all(v.startswith("v1.") for v in values)
    assert not any(t in v for v in values for t in (BOT_TOKEN, REFRESH_TOKEN, USER_TOKEN))
    found = store.find_installation(enterprise_id=None, team_id="T1")
    assert found is not None
    assert (found.bot_token, found.bot_refresh_token, found.user_token) == (
        BOT_TOKEN,
        REFRESH_TOKEN,
        USER_TOKEN,
    )
    bot = store.find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == BOT_TOKEN
    by_user = store.find_installation(enterprise_id=None, team_id="T1", user_id="U1")
    assert by_user is not None and by_user.bot_token == BOT_TOKEN


def test_a_token_copied_to_another_workspace_does_not_open(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The seal names the workspace: a row moved to T2 reads as not installed, logged."""
    store = SealedInstallationStore("1.2", engine, custody=custody())
    store.save(installation("T1"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE slack_bots SET team_id = 'T2'"))
        conn.execute(text("UPDATE slack_installations SET team_id = 'T2'"))
    with caplog.at_level(logging.ERROR):
        assert store.find_installation(enterprise_id=None, team_id="T2") is None
        assert store.find_bot(enterprise_id=None, team_id="T2") is None
    assert "workspace T2: its Slack tokens cannot be opened" in caplog.text
    assert BOT_TOKEN not in caplog.text


def test_plain_tokens_from_before_are_read_then_sealed_and_rotated(engine: Engine) -> None:
    """A row written unsealed still works; start-up seals it; a rotation re-seals it."""
    SQLAlchemyInstallationStore(client_id="1.2", engine=engine).save(installation())
    old_key, sessions = key(), db.session_factory(engine)
    old = Custody(old_key)
    store = SealedInstallationStore("1.2", engine, custody=old)
    found = store.find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and found.bot_token == BOT_TOKEN

    assert keys_rotation.seal_tokens(sessions, old, plain_only=True) == (5, 0)
    assert all(v.startswith(f"v1.{old.current_key_id}.") for v in stored_values(engine))
    assert keys_rotation.seal_tokens(sessions, old, plain_only=True) == (0, 5)
    with sessions.begin() as session:
        assert sealed_rows.master_key_use(session)[old.current_key_id] == 5

    new_key = key()
    with pytest.raises(CustodyError, match="workspace T1"):  # the old key is not configured
        keys_rotation.seal_tokens(sessions, Custody(new_key))
    assert keys_rotation.seal_tokens(sessions, Custody(new_key, previous=(old_key,))) == (5, 0)
    assert keys_rotation.seal_tokens(sessions, Custody(new_key)) == (0, 5)
    assert keys_rotation.verify(sessions, Custody(new_key)) == 5
    found = SealedInstallationStore("1.2", engine, custody=Custody(new_key)).find_installation(
        enterprise_id=None, team_id="T1"
    )
    assert found is not None and found.bot_refresh_token == REFRESH_TOKEN


def test_the_operator_seals_an_older_releases_tokens_from_the_command_line(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With replicas nothing seals at start-up (an older replica still reading plain tokens
    would break): `certdesk keys seal-tokens` does it once every replica runs this release."""
    SQLAlchemyInstallationStore(client_id="1.2", engine=engine).save(installation())
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CERTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CERTDESK_MASTER_KEY", base64.b64encode(key()).decode())
    monkeypatch.chdir(tmp_path)  # no stray .env
    assert cli.main(["keys", "seal-tokens"]) == 0
    assert "Sealed 5 workspace token(s)" in capsys.readouterr().out
    assert all(v.startswith("v1.") for v in stored_values(engine))
    assert cli.main(["keys", "seal-tokens"]) == 0
    assert "Sealed 0 workspace token(s)" in capsys.readouterr().out
