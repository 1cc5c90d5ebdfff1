"""`certdesk emulator` as a developer runs it: a Slack Web API on a local port."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk import WebClient
from support.app_fixtures import wait_for
from websockets.sync.client import connect

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


def test_emulator_command_acts_as_people_over_socket_mode(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "emulator", "--port", str(port), "--socket"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        client = WebClient(token="xoxb-emulator-token", base_url=f"{base}/api/")

        def url() -> str | None:
            try:
                return str(client.apps_connections_open(app_token="xapp-1-A0001-1-emulator")["url"])
            except Exception:  # noqa: BLE001 - not listening yet
                return None

        with connect(wait_for(url, timeout=30, what="the emulator to listen")) as app:
            assert json.loads(app.recv(timeout=5))["type"] == "hello"

            def answer() -> None:
                envelope = json.loads(app.recv(timeout=10))
                text = envelope["payload"]["text"]
                app.send(
                    json.dumps(
                        {
                            "envelope_id": envelope["envelope_id"],
                            "payload": {"text": f"heard {text}"},
                        }
                    )
                )

            answering = threading.Thread(target=answer)
            answering.start()
            form = urlencode({"user_id": "UALICE", "text": "help"}).encode()
            with urllib.request.urlopen(f"{base}/_emulator/command", data=form, timeout=15) as r:
                shown = r.read().decode()
            answering.join(timeout=5)
        assert shown.startswith('app answered 200 {"text": "heard help"}')
        assert "heard help" in shown.split("\n\n", 1)[1]  # and the workspace shows it
    finally:
        process.terminate()
        process.wait(timeout=10)
