"""`certdesk serve` as an operator runs it: a real process, real HTTP, a stand-in Slack Web API."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.aliyun import ACCESS_KEY_ID, ACCESS_KEY_SECRET, standin
from support.app_fixtures import ALICE, BOB, SECRET, certdesk_env, wait_for
from support.replicas import healthy

from bot.devtools.ports import free_port
from bot.emulator import Emulator, SlackSide
from bot.views import ids
from storage import db, queries


@pytest.fixture
def served(emulator: Emulator, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    env = {**os.environ, **certdesk_env(emulator, tmp_path / "data")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-scheduler",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: healthy(url) or process.poll() is not None,
            timeout=30,
            what="certdesk serve to answer /healthz",
        )
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        yield url, tmp_path / "data"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_registers_an_order_over_signed_http(
    served: tuple[str, Path], emulator: Emulator
) -> None:
    url, data_dir = served
    slack = SlackSide(emulator, request_url=f"{url}/slack/events", signing_secret=SECRET)
    assert slack.slash_command(ALICE, "new").status == 200
    assert emulator.calls_to("views.open"), "the modal was opened through SLACK_API_URL"
    response = slack.submit_view(
        ALICE,
        {ids.PRODUCT: "ov", ids.DOMAIN_TYPE: "multi", ids.DOMAIN_COUNT: "2", ids.VALIDITY: "90"},
    )
    assert response.status == 200
    dm = wait_for(
        lambda: [m for m in emulator.dms_to(ALICE) if "CD-0001" in m.text],
        what="the requester's DM",
    )
    assert "registered" in dm[0].text
    engine = db.make_engine(f"sqlite:///{data_dir / 'certdesk.sqlite3'}")
    with db.session_factory(engine).begin() as session:
        order = queries.get_order(session, 1)
        assert order is not None and order.requester_id == ALICE and order.product == "ov"
    engine.dispose()
    mine = slack.slash_command(ALICE, "list").json()
    assert mine is not None and "CD-0001" in mine["text"]
    theirs = slack.slash_command(BOB, "list").json()
    assert theirs is not None and "CD-0001" not in str(theirs)


def test_serve_refuses_bad_configuration_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CERTDESK_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s", CERTDESK_CA="verisign")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "certdesk: CERTDESK_CA: expected one of simulated, acme, aliyun; got 'verisign'"
    ]


def test_serve_starts_with_the_aliyun_backend(emulator: Emulator, tmp_path: Path) -> None:
    with standin(tmp_path / "cas") as cas:
        cas.add_instance("cas_dv-cn-1", "DV", full_domains=1)
        port = free_port()
        env = {
            **os.environ,
            **certdesk_env(emulator, tmp_path / "data"),
            "CERTDESK_CA": "aliyun",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
            "CERTDESK_ALIYUN_ENDPOINT": cas.endpoint,
        }
        args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler"]
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        try:
            wait_for(
                lambda: healthy(f"http://127.0.0.1:{port}") or process.poll() is not None,
                timeout=30,
                what="certdesk serve (aliyun) to answer /healthz",
            )
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        finally:
            process.terminate()
            process.wait(timeout=10)
        assert ACCESS_KEY_SECRET not in (process.stdout.read().decode() if process.stdout else "")


def test_serve_with_aliyun_needs_the_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CERTDESK_", "ALI"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-x",
        SLACK_SIGNING_SECRET="s",
        CERTDESK_CA="aliyun",
        ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "certdesk: ALIBABA_CLOUD_ACCESS_KEY_SECRET: required when CERTDESK_CA=aliyun"
    )


def test_a_postgresql_database_must_be_upgraded_before_serving(
    fresh_postgres: str, tmp_path: Path, emulator: Emulator
) -> None:
    database = fresh_postgres
    env = {**os.environ, **certdesk_env(emulator, tmp_path / "data", DATABASE_URL=database)}

    def certdesk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )

    refused = certdesk("worker")
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("run `certdesk db upgrade` once, then start certdesk")
    upgraded = certdesk("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert certdesk("db", "current").stdout.strip() == db.head_revision()
