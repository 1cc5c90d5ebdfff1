"""Purging a key needs a download of that very key, not of one a resubmission replaced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.app_fixtures import ALICE, Running
from support.ca_flow import submitted_order

from bot.errors import IllegalTransition
from bot.orders import key_files
from bot.orders.submission import send_to_ca
from storage.models import DeliveredFile, PrivateKey, utcnow


def _delivered(certdesk: Running, order_id: int, *, at: object) -> None:
    with certdesk.services.sessions.begin() as session:
        session.add(
            DeliveredFile(
                order_id=order_id,
                user_id=ALICE,
                channel_id="DALICE",
                slack_file_id="F1",
                kind="key",
                filename="cd.key.pem",
                delivered_at=at,
            )
        )


def test_a_download_of_a_replaced_key_does_not_allow_purging(certdesk: Running) -> None:
    services = certdesk.services
    order_id = submitted_order(services, ALICE, send=False)
    send_to_ca(services, order_id)
    with services.sessions.begin() as session:
        key = session.get(PrivateKey, order_id)
        assert key is not None
        made = key.created_at
    # The owner downloaded the key of an earlier submission, since replaced.
    _delivered(certdesk, order_id, at=made - timedelta(hours=1))
    with pytest.raises(IllegalTransition, match="replaced when the order was resubmitted"):
        key_files.open_purge(services, order_id, user_id=ALICE)
    # A download of the current key allows it.
    _delivered(certdesk, order_id, at=utcnow())
    assert key_files.open_purge(services, order_id, user_id=ALICE).id == order_id
