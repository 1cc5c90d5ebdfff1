"""A frozen PostgreSQL (postmaster and backends stopped) never hangs certdesk's answers.

The deadlines below are the client's socket timeouts: Slack gives an app 3 s, a health
probe gets 1 s. A request that hangs fails the test by timing out; none is timed otherwise.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from support.app_fixtures import ALICE, SECRET, TEAM, Running
from support.freeze import frozen
from support.postgres import postgres_cluster

from storage import db


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[str]:
    """A cluster of this module's own: freezing it disturbs no other test."""
    with postgres_cluster() as url:
        yield url


def get(base: str, path: str, *, timeout: float) -> tuple[int, dict]:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def cert(base: str, words: str, *, timeout: float) -> tuple[int, str]:
    """A signed `/cert words` from Alice; the ack's status and ephemeral text."""
    body = urlencode(
        {"command": "/cert", "text": words, "user_id": ALICE, "team_id": TEAM}
        | {"trigger_id": "1.2.3", "channel_id": "D1", "response_url": "http://127.0.0.1:9/"}
    )
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("POST", "/slack/events", body=body.encode(), headers=headers)
        response = connection.getresponse()
        raw = response.read().decode()
    finally:
        connection.close()
    try:
        return response.status, str(json.loads(raw).get("text", ""))
    except ValueError:
        return response.status, raw


def test_a_frozen_database_is_answered_politely_and_in_time(
    start_certdesk: Callable[..., Running], own_postgres: str
) -> None:
    desk = start_certdesk(DATABASE_URL=own_postgres)
    base = desk.http.url
    status, listing = cert(base, "list", timeout=3)
    assert status == 200 and "Something went wrong" not in listing  # warm: a pooled connection
    status, body = get(base, "/readyz", timeout=3)
    assert status == 200 and body["ok"] is True and body["database"] == "ok"

    with frozen(own_postgres) as pids:
        assert len(pids) >= 2  # the postmaster and at least one backend
        assert get(base, "/healthz", timeout=1) == (200, {"ok": True})
        status, body = get(base, "/readyz", timeout=3)
        assert status == 503 and body["database"] in ("timeout", "OperationalError")
        status, helping = cert(base, "help", timeout=3)
        assert status == 200 and "/cert" in helping
        status, listing = cert(base, "list", timeout=3)
        assert status == 200 and "database is not answering" in listing
        status, listing = cert(base, "list", timeout=3)  # again: the pool does not stay stuck
        assert status == 200 and "database is not answering" in listing
        assert get(base, "/healthz", timeout=1) == (200, {"ok": True})

    # Thawed: the same process recovers without a restart.
    status, listing = cert(base, "list", timeout=5)
    assert status == 200 and "Something went wrong" not in listing
    assert get(base, "/readyz", timeout=3)[0] == 200


def test_a_statement_outliving_the_deadline_is_cancelled_by_the_server(
    own_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server's own cancel is what is tested here: the client's cut (half a second later
    # in production) waits longer, so a busy machine running the server late cannot beat it.
    monkeypatch.setattr(db, "_CLIENT_GRACE", 3.0)
    engine = db.make_engine(own_postgres, timeouts=db.Timeouts(connect=2, statement=1, checkout=1))
    try:
        with pytest.raises(Exception, match="statement timeout"), engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(5)"))
        with engine.connect() as connection:  # the connection pool is still good
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_frozen_server_mid_statement_is_cut_by_the_client(own_postgres: str) -> None:
    engine = db.make_engine(own_postgres, timeouts=db.Timeouts(connect=2, statement=1, checkout=1))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            with frozen(own_postgres), pytest.raises(Exception, match="closed|consuming input"):
                connection.execute(text("SELECT 2"))
    finally:
        engine.dispose()
