"""What a serving process loads at start-up: nothing heavy that its configuration does not use.

Each of these stays resident once imported (Alembic with Mako and Pygments ~10 MB, dnspython
~3 MB, greenlet with SQLAlchemy's asyncio ~3 MB, the ACME and Aliyun SDKs more); idle RSS per
process is kept under 80 MB (bench/memory.py), so each is imported only where it is used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "alembic",
    "mako",
    "pygments",
    "dns",
    "greenlet",
    "sqlalchemy.ext.asyncio",
    "acme",
    "josepy",
    "alibabacloud_cas20200407",
    "alibabacloud_tea_openapi",
    "pkilint",
)
# As `certdesk serve` starts (bot.serve.serve): migrate apart, build, start the scheduler.
START = """
import json, sys
from bot.config import Settings
from bot.migrating import migrate_apart
from bot.app import create
from bot.scheduler import ScheduledJobs
from bot.web import wsgi_for

settings = Settings.load()
migrate_apart(settings)
certdesk = create(settings, verify_token=False)
jobs = ScheduledJobs(certdesk.services)
jobs.start()
wsgi_for(certdesk)
jobs.stop()
certdesk.services.background.shutdown()
heavy = json.loads(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy or m in heavy)))
"""


def test_serve_start_up_loads_nothing_heavy_it_is_not_configured_for(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": "xoxb-startup",
        "SLACK_SIGNING_SECRET": "startup-secret",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # never called: token not verified
        "CERTDESK_DATA_DIR": str(tmp_path),
        "CERTDESK_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", START, json.dumps(HEAVY)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert (tmp_path / "certdesk.sqlite3").exists()  # the child did migrate the store
