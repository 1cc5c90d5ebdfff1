"""Processes started together on a new SQLite store migrate it one after another."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import text
from support.replicas import CERTDESK, environment

from storage import db


def test_three_processes_migrating_one_new_file_all_succeed(tmp_path: Path) -> None:
    """As `serve` and `worker` do at their first start: before the lock beside the file, the
    later ones failed on "table ... already exists" in most rounds."""
    for round_ in range(3):
        data = tmp_path / f"round{round_}"
        env = environment(
            {
                "CERTDESK_DATA_DIR": str(data),
                "SLACK_BOT_TOKEN": "xoxb-x",
                "SLACK_SIGNING_SECRET": "s",
            }
        )
        started = [
            subprocess.Popen(
                [str(CERTDESK), "db", "upgrade"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        for process in started:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
        engine = db.make_engine(f"sqlite:///{data / 'certdesk.sqlite3'}")
        try:
            assert db.current_revision(engine) == db.head_revision()
            with engine.connect() as conn:  # one history: a single version row
                assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        finally:
            engine.dispose()
