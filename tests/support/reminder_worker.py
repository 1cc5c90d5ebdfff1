"""Reminder test helpers, and a worker process: ``python -m support.reminder_worker ID OFFSET``.

As a script it builds certdesk's services from the environment (pointing at the emulator and
the shared database, as ``certdesk worker`` would), runs one ``send_due`` sweep with the clock
moved ``OFFSET`` seconds ahead, and prints ``sent=N``. The test that starts it puts tests/ and
the project on PYTHONPATH.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import workflow
from bot.services import Services
from storage.models import Contact, Order, OrderDomain, Reminder, Watcher


def waiting_order(
    services: Services,
    *,
    requester: str,
    watchers: tuple[str, ...] = (),
    started: datetime,
    with_slots: bool = True,
) -> int:
    """An order already waiting for verification (no CA reference), with its first slots."""
    from bot.orders.reminding import start_verification

    with services.sessions.begin() as session:
        order = Order(
            team_id="T0001",
            requester_id=requester,
            product="dv",
            domain_type="single",
            domain_count=1,
            validity_days=90,
            state=workflow.State.AWAITING_VERIFICATION,
            verification_started_at=started,
        )
        order.domains = [OrderDomain(position=0, name="example.com", display="example.com")]
        order.applicant = Contact(name="Alice", email="admin@example.com", phone="+442079460958")
        order.watchers = [Watcher(user_id=w, added_by=requester) for w in watchers]
        session.add(order)
        session.flush()
        if with_slots:
            start_verification(session, order, now=started)
        return order.id


def bare_slots(
    services: Services, order_id: int, recipients: list[str], *, due: datetime
) -> list[int]:
    """Many due verification slots for one order (step numbers 0..n-1, one per recipient)."""
    with services.sessions.begin() as session:
        rows = [
            Reminder(order_id=order_id, kind="verification", step=i, recipient_id=r, due_at=due)
            for i, r in enumerate(recipients)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def reminder_ids_posted(messages: list) -> list[int]:
    """The slot ids carried in the metadata of posted messages."""
    return [
        m.metadata["event_payload"]["reminder_id"]
        for m in messages
        if m.metadata
        and m.metadata.get("event_type") == "certdesk_reminder"
        and "reminder_id" in m.metadata["event_payload"]  # not an announcement's tag
    ]


def main(worker_id: str, offset: float, gate: str | None = None) -> None:
    """One sweep as a separate process.

    With ``gate`` (a path), the worker says it is ready (``<gate>.<worker_id>``) and waits
    for the gate file, so several workers start sweeping at the same moment.
    """
    from bot.app import build_services
    from bot.config import Settings
    from bot.orders.reminding import send_due

    services = build_services(Settings.load(), migrate=False)
    if gate:
        Path(f"{gate}.{worker_id}").touch()
        opened_by = time.monotonic() + 120  # a test that failed meanwhile never opens it
        while not Path(gate).exists():
            if time.monotonic() > opened_by:
                raise SystemExit("the gate was never opened")
            time.sleep(0.01)
    now = datetime.now(UTC) + timedelta(seconds=offset)
    sent = send_due(services, worker_id=worker_id, now=now)
    print(f"sent={sent}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), *sys.argv[3:4])
