"""A backup names every master key its copy needs: workspace tokens' keys as well as keys'."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import text

from bot import backup
from bot.config import Settings
from bot.crypto import Custody, key_id
from bot.slack.sealed_tokens import SealedInstallationStore
from storage import db


def installation(team_id: str) -> Installation:
    return Installation(
        app_id="A1", team_id=team_id, user_id="U1", bot_token=f"xoxb-{team_id}", bot_id="B1",
        bot_user_id="UB1", user_token=f"xoxp-{team_id}",
    )  # fmt: skip


def test_tokens_sealed_under_another_key_are_counted_and_that_key_is_asked_for(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'certdesk.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    older, current = secrets.token_bytes(32), secrets.token_bytes(32)
    # T1 sealed under a key no longer configured (its bot token in both tables and its user
    # token: 3 values); T2 under the current key (3 more); T3 plain, as before sealing.
    SealedInstallationStore("1.2", engine, custody=Custody(older)).save(installation("T1"))
    SealedInstallationStore("1.2", engine, custody=Custody(current)).save(installation("T2"))
    SealedInstallationStore("1.2", engine, custody=Custody(current)).save(installation("T3"))
    with engine.begin() as conn:  # T3's written plain, as before sealing; one value damaged
        conn.execute(text("UPDATE slack_bots SET bot_token = 'xoxb-T3' WHERE team_id = 'T3'"))
        conn.execute(
            text(
                "UPDATE slack_installations SET bot_token = 'xoxb-T3', "
                "user_token = 'v1.damaged' WHERE team_id = 'T3'"
            )
        )
    engine.dispose()
    settings = Settings.load(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "s",
            "DATABASE_URL": url,
            "CERTDESK_DATA_DIR": str(tmp_path),
            "CERTDESK_MASTER_KEY": base64.b64encode(current).decode(),
        }
    )
    done = backup.backup_sqlite(settings, tmp_path / "copy.sqlite3")
    assert done.sealed == {key_id(older): 3, key_id(current): 3}
    told = backup.summary(settings, done)
    assert "6 sealed secret(s)" in told
    assert f"Warning: {key_id(older)} is not among the configured master keys" in told
    assert "xoxb-" not in told and "xoxp-" not in told
