"""The Slack notifier: its cache of DM channels survives two threads DMing a new user at once,
and notices from a worker refresh Home tabs."""

from __future__ import annotations

import threading
from pathlib import Path

from slack_sdk import WebClient
from support.app_fixtures import ALICE, TEAM, TOKEN, certdesk_env
from support.outbox import tell

from bot import events
from bot.app import build_services
from bot.config import Settings
from bot.emulator import Emulator
from bot.orders.register import register_order
from bot.ports import Message
from bot.products import Purchase
from bot.slack import SlackNotifier
from storage import db


def test_concurrent_first_dms_to_one_user_both_arrive(emulator: Emulator, tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'n.sqlite3'}")
    db.upgrade(engine)
    notifier = SlackNotifier(
        WebClient(token=TOKEN, base_url=emulator.api_url), db.session_factory(engine)
    )
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def send(i: int) -> None:
        barrier.wait()
        try:
            notifier.dm(ALICE, Message(f"hello {i}"))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(m.text for m in emulator.dms_to(ALICE)) == sorted(f"hello {i}" for i in range(8))
    engine.dispose()


def test_notices_from_a_worker_refresh_home_tabs(emulator: Emulator, tmp_path: Path) -> None:
    """`certdesk worker` builds no Bolt app; its notices still republish people's Home tabs."""
    services = build_services(Settings.load(certdesk_env(emulator, tmp_path / "data")))
    order = register_order(
        services, team_id=TEAM, user_id=ALICE, purchase=Purchase("dv", "single", 1, 90)
    )
    assert emulator.home_view(ALICE) is None
    tell(services, order.id, events.CancelledAtCA(ref=order.ref))
    home = emulator.home_view(ALICE)
    assert home is not None and order.ref in str(home["blocks"])
    services.engine.dispose()
