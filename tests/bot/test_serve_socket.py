"""`certdesk serve --socket` configuration and health, apart from the journey itself."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.app_fixtures import ALICE, certdesk_env, wait_for

from bot.app import create
from bot.config import Settings
from bot.emulator import Emulator, SocketSlackSide, run_wsgi_in_thread
from bot.errors import ConfigError
from bot.socket_mode import SocketLink
from bot.web import wsgi_for


@pytest.mark.parametrize(
    ("app_token", "expected"),
    [
        (
            "xapp-1-A0001-1-revoked",
            "certdesk: SLACK_APP_TOKEN: Slack refused it (invalid_auth); use an app-level token "
            "(xapp-…) with the connections:write scope, from Basic Information → App-Level Tokens",
        ),
        ("", "certdesk: SLACK_APP_TOKEN: required for Socket Mode (an app-level token, xapp-…)"),
        ("xoxb-test-token", "certdesk: SLACK_APP_TOKEN: expected a token starting with xapp-"),
    ],
)
def test_a_bad_app_token_stops_serve_socket_in_one_line(
    emulator: Emulator, tmp_path: Path, app_token: str, expected: str
) -> None:
    env = {**os.environ, **certdesk_env(emulator, tmp_path / "data"), "SLACK_APP_TOKEN": app_token}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--socket", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert [line for line in lines if line.startswith("certdesk:")] == [expected]
    assert lines[-1] == expected
    # Nothing was left half-started: no socket was opened with a refused token.
    assert not emulator.socket_mode.connected


@pytest.fixture
def socket_certdesk(emulator: Emulator, tmp_path: Path) -> Iterator[tuple[SocketLink, str]]:
    """certdesk in Socket Mode in this process, with its HTTP side served on a thread."""
    settings = Settings.load(
        certdesk_env(emulator, tmp_path / "data", SLACK_APP_TOKEN=emulator.app_token)
    )
    certdesk = create(settings)
    link = SocketLink.open(certdesk)
    inner = wsgi_for(certdesk)
    http = run_wsgi_in_thread(link.wrap(inner))
    yield link, http.url
    http.stop()
    link.close()
    certdesk.services.background.shutdown()
    certdesk.services.engine.dispose()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_healthz_in_socket_mode_reports_the_websocket(
    socket_certdesk: tuple[SocketLink, str], emulator: Emulator
) -> None:
    link, url = socket_certdesk
    emulator.socket_mode.wait_for_link()
    status, body = get(f"{url}/healthz")
    assert (status, json.loads(body)) == (
        200,
        {"ok": True, "socket": "connected"},
    )
    status, body = get(f"{url}/slack/events")
    assert status == 404 and "Socket Mode" in body
    assert get(f"{url}/sim-ca/verify/SIM-nothing.x")[0] == 410  # the CA's pages are still served
    link.close()  # down, as while Slack is unreachable: Slack cannot reach certdesk either
    status, body = get(f"{url}/healthz")
    assert status == 503
    assert json.loads(body) == {"ok": False, "socket": "disconnected"}


def test_socket_link_needs_an_app_token(emulator: Emulator, tmp_path: Path) -> None:
    settings = Settings.load(certdesk_env(emulator, tmp_path / "data"))
    certdesk = create(settings)
    try:
        with pytest.raises(ConfigError, match="SLACK_APP_TOKEN: required"):
            SocketLink.open(certdesk)
    finally:
        certdesk.services.background.shutdown()
        certdesk.services.engine.dispose()


def test_envelopes_stay_out_of_the_logs_even_at_debug(
    socket_certdesk: tuple[SocketLink, str], emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    # slack_sdk logs every envelope at DEBUG, and envelopes carry what people type (passphrases).
    caplog.set_level(logging.DEBUG)
    for name in ("slack_sdk", "slack_bolt", "bot"):
        caplog.set_level(logging.DEBUG, logger=name)
    emulator.add_user(ALICE, name="alice")
    emulator.socket_mode.wait_for_link()
    marker = "ribbon-lantern-quartz-47"
    SocketSlackSide(emulator, emulator.socket_mode).slash_command(ALICE, f"status {marker}")
    greeted = emulator.socket_mode.hellos
    emulator.socket_mode.drop("close")
    emulator.socket_mode.wait_for_link(newer_than=greeted)

    def transport() -> list[str]:
        names = ("slack_sdk", "bot.socket_mode", "bot.emulator.socket_mode")
        return [r.getMessage() for r in caplog.records if r.name.startswith(names)]

    # Its INFO records still flow (the SDK logs the new session after Slack's hello).
    wait_for(lambda: any("new session" in m for m in transport()), what="the SDK's log")
    assert [m for m in transport() if marker in m] == []
