"""Migration 0008_deliveries on a store in use: no row lost, orders still owed are named."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, text

from storage import db

_ORDER = (
    "INSERT INTO orders (id, team_id, requester_id, product, domain_type, domain_count, "
    "validity_days, state, poll_failures, created_at, updated_at, version, delivery_due_at) "
    "VALUES (:id, 'T1', 'U1', 'dv', 'single', 1, 90, 'issued', 0, :at, :at, 1, :due)"
)
_DOMAIN = (
    "INSERT INTO order_domains (order_id, position, name, display, reversed_name) "
    "VALUES (:id, 0, 'a.example.com', 'a.example.com', 'com.example.a')"
)


def test_upgrading_keeps_every_order_and_names_those_still_owed(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine: Engine = db.make_engine(database_url)
    try:
        db.upgrade(engine, "0007_sealed_tokens")
        with engine.begin() as conn:
            for order_id, due in ((7, "2026-11-30 10:00:00"), (8, None)):
                conn.execute(
                    text(_ORDER), {"id": order_id, "at": "2026-11-30 09:00:00", "due": due}
                )
                conn.execute(text(_DOMAIN), {"id": order_id})
        with caplog.at_level(logging.WARNING):
            db.upgrade(engine)
        assert "1 order(s) still owed a Slack notice" in caplog.text
        assert "CD-0007" in caplog.text and "CD-0008" not in caplog.text
        with engine.connect() as conn:
            # Nothing rebuilt `orders` (on SQLite a rebuild cascades into its children), and
            # the old mark stays for the previous release's replicas during a rolling upgrade.
            assert conn.scalar(text("SELECT count(delivery_due_at) FROM orders")) == 1
            assert conn.scalar(text("SELECT count(*) FROM orders")) == 2
            assert conn.scalar(text("SELECT count(*) FROM order_domains")) == 2
    finally:
        engine.dispose()
