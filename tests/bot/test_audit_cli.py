"""`certdesk audit CD-xxxx` prints every edit and state change of an order, with who and when."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.app_fixtures import ALICE, BOB, Running, certdesk_env, wait_for
from support.forms import GOOD_DV

from bot import cli
from bot.views import ids

LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)Z\s+(?P<actor>\S+)\s+(?P<action>\S+)\s*(?P<detail>.*)$"
)


def submit(certdesk: Running, user: str, values: dict[str, object]) -> dict:
    response = certdesk.slack.submit_view(user, values)
    assert response.status == 200, response.body
    certdesk.settle()
    return response.json() or {}


def journey(certdesk: Running) -> str:
    """Register, mistype, correct, submit, add a watcher, cancel: everything worth auditing."""
    slack = certdesk.slack
    slack.slash_command(ALICE, "new")
    submit(
        certdesk,
        ALICE,
        {ids.PRODUCT: "dv", ids.DOMAIN_TYPE: "multi", ids.DOMAIN_COUNT: "3", ids.VALIDITY: "200"},
    )
    dm = wait_for(lambda: [m for m in certdesk.emulator.dms_to(ALICE) if "registered" in m.text])
    match = re.search(r"CD-\d{4}", dm[0].text)
    assert match
    ref = match.group(0)
    slack.slash_command(ALICE, f"complete {ref}")
    bad = submit(certdesk, ALICE, {**GOOD_DV, ids.APPLICANT_EMAIL: "admin@@x"})
    assert bad["response_action"] == "errors"
    assert submit(certdesk, ALICE, GOOD_DV)["response_action"] == "push"
    assert submit(certdesk, ALICE, {}) == {"response_action": "clear"}
    slack.slash_command(ALICE, f"watchers {ref}")
    submit(certdesk, ALICE, {ids.WATCHER_USERS: [BOB]})
    slack.slash_command(ALICE, f"cancel {ref}")
    assert submit(certdesk, ALICE, {}) == {"response_action": "clear"}
    return ref


def parse(output: str) -> list[dict[str, str]]:
    lines = [line for line in output.splitlines() if line.strip()]
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), f"unexpected lines in {output!r}"
    return [m.groupdict() for m in parsed if m]


def check_trail(output: str, *, started: datetime) -> None:
    events = parse(output)
    seen = [(e["actor"], e["action"]) for e in events]
    expected = [
        (ALICE, "registered"),
        (ALICE, "application_saved"),
        (ALICE, "submit"),
        ("system", "key_generated"),
        ("system", "sent_to_ca"),
        (ALICE, "watcher_added"),
        (ALICE, "cancelled"),
    ]
    # In this order (other events, e.g. the CA's, may come between).
    positions = [seen.index(step) for step in expected]
    assert positions == sorted(positions), seen
    details = {e["action"]: e["detail"] for e in events}
    assert "product=dv" in details["registered"] and "domain_count=3" in details["registered"]
    assert "applicant_email" in details["application_saved"]  # what the edit changed
    assert f"watcher={BOB}" in details["watcher_added"]
    assert "previous_state=submitted" in details["cancelled"]
    assert "withdrawn_at_ca=True" in details["cancelled"]
    # When: every line is stamped within the test, oldest first.
    stamps = [datetime.strptime(e["at"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC) for e in events]
    assert stamps == sorted(stamps)
    assert started - timedelta(seconds=1) <= stamps[0] <= stamps[-1] <= datetime.now(UTC)
    # Never key material, whatever else is printed.
    assert "PRIVATE KEY" not in output


@pytest.fixture
def audited(
    start_certdesk: Callable[..., Running], database_url: str
) -> tuple[Running, str, datetime]:
    """An order taken through the journey, on SQLite and on PostgreSQL."""
    started = datetime.now(UTC)
    certdesk = start_certdesk(DATABASE_URL=database_url)
    return certdesk, journey(certdesk), started


def test_audit_prints_every_edit_and_state_change_in_process(
    audited: tuple[Running, str, datetime],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    certdesk, ref, started = audited
    settings = certdesk.services.settings
    monkeypatch.chdir(tmp_path)  # no stray ./.env
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CERTDESK_DATA_DIR", str(settings.data_dir))
    assert cli.main(["audit", ref.lower()]) == 0
    check_trail(capsys.readouterr().out, started=started)
    assert cli.main(["audit", "CD-9999"]) == 1
    assert "no audit events for CD-9999" in capsys.readouterr().err
    assert cli.main(["audit", "tomorrow"]) == 2
    assert "not an order ID" in capsys.readouterr().err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_audit_as_a_command(
    audited: tuple[Running, str, datetime], emulator: object, tmp_path: Path
) -> None:
    certdesk, ref, started = audited
    settings = certdesk.services.settings
    env = {
        **os.environ,
        **certdesk_env(certdesk.emulator, settings.data_dir),
        "DATABASE_URL": settings.database_url,
    }
    script = Path(sys.executable).with_name("certdesk")
    done = subprocess.run(
        [str(script), "audit", ref],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    check_trail(done.stdout, started=started)
