"""/readyz over real HTTP: each check named, a stopped PostgreSQL, a stale schema, a bad token."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import text
from support.app_fixtures import Running
from support.postgres import postgres_cluster, stop_server

from bot.ca.acme import AcmeBackend, generate_account_key
from bot.ca.base import MemoryStateStore
from bot.emulator.server import run_wsgi_in_thread
from bot.errors import CAError
from bot.readiness import Check, Readiness

CHECKS = {"database", "schema", "slack", "ca"}


def readyz(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as answer:
        return answer.code, json.loads(answer.read())


def test_ready_names_every_check(certdesk: Running) -> None:
    status, body = readyz(certdesk.http.url)
    assert status == 200, body
    assert body == {"ok": True, **dict.fromkeys(CHECKS, "ok"), "failing": []}
    # The Slack answer is kept: probes every few seconds do not each call auth.test.
    calls = len(certdesk.emulator.calls_to("auth.test"))
    assert readyz(certdesk.http.url)[0] == 200
    assert len(certdesk.emulator.calls_to("auth.test")) == calls


def test_a_stopped_postgresql_is_named_as_the_failing_check(
    start_certdesk: Callable[..., Running],
) -> None:
    with postgres_cluster() as database:  # a cluster of its own, to stop
        desk = start_certdesk(DATABASE_URL=database)
        assert readyz(desk.http.url)[0] == 200
        stop_server(database)
        status, body = readyz(desk.http.url)
        assert status == 503
        assert "database" in body["failing"] and body["ok"] is False
        assert body["database"] in ("timeout", "OperationalError")
        assert body["slack"] == body["ca"] == "ok"
        assert "certdesk@" not in json.dumps(body), "no connection string in the answer"


def test_a_schema_behind_the_code_fails_schema_only(certdesk: Running) -> None:
    with certdesk.services.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0000_older'"))
    status, body = readyz(certdesk.http.url)
    assert status == 503 and body["failing"] == ["schema"]
    reason = body["schema"]
    assert "0000_older" in reason and "certdesk db upgrade" in reason


def test_a_revoked_token_fails_slack(certdesk: Running) -> None:
    settings = certdesk.services.settings
    wrong = WebClient(token="xoxb-revoked", base_url=settings.slack_api_url, timeout=2)
    ready, body = Readiness.for_services(certdesk.services, slack=wrong).report()
    assert not ready and body["failing"] == ["slack"]
    assert body["slack"] == "Slack answered invalid_auth"


def test_a_hung_check_answers_in_time_and_is_not_started_twice() -> None:
    import threading

    release, runs = threading.Event(), []

    def hangs() -> None:
        runs.append(1)
        release.wait(5)

    readiness = Readiness([Check("database", hangs, timeout=0.2)])
    try:
        assert readiness.report()[1]["database"] == "timeout"
        second = readiness.report()[1]["database"]
        assert "still checking" in second and runs == [1]
    finally:
        release.set()


def _directory_server(body: bytes) -> Any:
    def app(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return run_wsgi_in_thread(app)


def _acme(url: str) -> AcmeBackend:
    return AcmeBackend(
        directory_url=url,
        account_key_pem=generate_account_key(),
        contact_email=None,
        challenge="http-01",
        store=MemoryStateStore(),
    )


def test_the_acme_backend_is_ready_when_its_directory_answers() -> None:
    good = _directory_server(json.dumps({"newNonce": "x", "newOrder": "y"}).encode())
    wrong = _directory_server(b'{"hello": "world"}')
    try:
        _acme(f"http://127.0.0.1:{good.port}/dir").check()
        with pytest.raises(CAError, match="not with an ACME directory"):
            _acme(f"http://127.0.0.1:{wrong.port}/dir").check()
    finally:
        good.stop()
        wrong.stop()
    with pytest.raises(CAError, match="Could not reach") as refused:
        _acme(f"http://127.0.0.1:{good.port}/dir").check()  # stopped: nothing listens
    assert refused.value.retryable
