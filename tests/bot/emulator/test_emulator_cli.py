"""`certdesk emulator` as a developer runs it: a Slack Web API on a local port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from slack_sdk import WebClient
from support.app_fixtures import wait_for

from bot.devtools.ports import free_port


def test_emulator_command_answers_the_web_api(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "emulator", "--port", str(port), "--token", "xoxb-dev"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        client = WebClient(token="xoxb-dev", base_url=f"http://127.0.0.1:{port}/api/")

        def answers() -> bool:
            try:
                return bool(client.auth_test()["ok"])
            except Exception:  # noqa: BLE001 - not listening yet
                return False

        wait_for(answers, timeout=30, what="the emulator to listen")
        wrong = WebClient(token="xoxb-wrong", base_url=f"http://127.0.0.1:{port}/api/")
        from slack_sdk.errors import SlackApiError

        try:
            wrong.auth_test()
        except SlackApiError as exc:
            assert exc.response["error"] == "invalid_auth"
        else:
            raise AssertionError("a wrong token was accepted")
    finally:
        process.terminate()
        process.wait(timeout=10)
