"""Two `certdesk serve --no-scheduler` and two `certdesk worker` processes on one PostgreSQL,
20 orders through verification while a worker is killed with SIGKILL again and again: every
reminder step reaches each person once, every certificate arrives once, no order is stuck.

Everything is a real process started from the `certdesk` console script; Slack is the
emulator (in this process, over HTTP); the CA is the simulated one, whose verification links
are followed over HTTP like a person would. Set CERTDESK_KILL_SEED to replay a run's kills.
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from support.app_fixtures import SECRET, certdesk_env, wait_for
from support.reminder_worker import reminder_ids_posted
from support.replicas import (
    MASTER_KEY,
    Proc,
    certdesk,
    follow_link,
    healthy,
    register_and_submit,
)

from bot.app import build_services
from bot.ca.simulated import mailer
from bot.config import Settings
from bot.devtools.ports import free_port
from bot.emulator import Emulator, SlackSide
from bot.services import Services
from storage.models import Delivery, Order, Reminder

ORDERS = 20
KILLS = 10
PEOPLE = [f"UREQ{i:02d}" for i in range(ORDERS)]
#: Step 0 when verification starts, step 1 fifteen seconds later (well past the longest delay
#: a kill can cause: the lock TTL plus a claim lease), step 2 an hour later (never, here).
#: The lease is what a live sender may take for one send before another takes it over: on a
#: busy machine a few seconds can pass, so it is 6 s, not the shortest that would do.
SECOND_STEP = timedelta(seconds=15)
TIMINGS = {
    "CERTDESK_POLL_INTERVAL": "1s",
    "CERTDESK_TICK": "1s",
    "CERTDESK_SIM_REVIEW_DELAY": "1s",
    "CERTDESK_REMINDER_SCHEDULE": f"{SECOND_STEP.seconds}s,1h",
    "CERTDESK_CLAIM_LEASE": "6s",
    "CERTDESK_LEADER_TTL": "3s",
    "CERTDESK_SHUTDOWN_GRACE": "5s",
}


class Killer(threading.Thread):
    """Kills a random worker with SIGKILL and starts it again at once, 1–3 s after both
    workers are up, so there is always a standby to take over from a killed scheduler (a
    worker killed while still importing would prove nothing; on a busy machine starting
    takes seconds)."""

    def __init__(self, workers: list[Proc], rng: random.Random) -> None:
        super().__init__(name="killer", daemon=True)
        self.workers, self.rng = workers, rng
        self.kills = self.leader_kills = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            if not all("certdesk worker: running" in w.output() for w in self.workers):
                self.done.wait(0.1)
                continue
            if self.done.wait(self.rng.uniform(1.0, 3.0)):
                return
            worker = self.rng.choice(self.workers)
            self.leader_kills += worker.leads()
            worker.kill()
            self.kills += 1
            worker.start()

    def finish(self, *, at_least: int) -> None:
        """Go on until ``at_least`` kills are done, then stop."""
        wait_for(lambda: self.kills >= at_least, timeout=300, what=f"{at_least} kills")
        self.done.set()
        self.join(timeout=30)


def slot_posts(emulator: Emulator, services: Services) -> Counter[tuple[int, str, int]]:
    """How often each (order, person, step) reminder was posted, from Slack's side."""
    posted = Counter(reminder_ids_posted(emulator.messages()))
    with services.sessions.begin() as session:
        rows = {r.id: r for r in session.scalars(select(Reminder))}
    counts: Counter[tuple[int, str, int]] = Counter()
    for slot_id, times in posted.items():
        row = rows[slot_id]
        counts[(row.order_id, row.recipient_id, row.step)] += times
    return counts


def slot_rows(services: Services) -> dict[tuple[int, str, int], Reminder]:
    """Verification reminder slots by (order, person, step)."""
    with services.sessions.begin() as session:
        found = session.scalars(select(Reminder).where(Reminder.kind == "verification"))
        rows = {(r.order_id, r.recipient_id, r.step): r for r in found}
        session.expunge_all()
        return rows


def expected_firsts(final: dict[int, Order]) -> set[tuple[int, str, int]]:
    """Step 0 for the requester of every order."""
    return {(order_id, order.requester_id, 0) for order_id, order in final.items()}


def owed(services: Services) -> list[tuple[int, str, str]]:
    """Outbox rows not yet sent: (id, what, status)."""
    with services.sessions.begin() as session:
        found = session.scalars(select(Delivery).where(Delivery.status != "sent"))
        return [(r.id, r.what, r.status) for r in found]


def orders(services: Services) -> dict[int, Order]:
    with services.sessions.begin() as session:
        found = {o.id: o for o in session.scalars(select(Order))}
        session.expunge_all()
        return found


def notices(emulator: Emulator, services: Services, notice: str) -> Counter[int]:
    """How often each order's ``notice`` DM (issued, submitted) is in Slack: its outbox row's
    tag (``delivery_id`` in the message metadata), by order."""
    with services.sessions.begin() as session:
        found = session.execute(
            select(Delivery.id, Delivery.order_id).where(
                Delivery.what == notice, Delivery.medium == "dm"
            )
        )
        order_of = {row_id: order_id for row_id, order_id in found}
    return Counter(
        order_of[tagged]
        for m in emulator.messages()
        if m.metadata
        and (tagged := (m.metadata.get("event_payload") or {}).get("delivery_id")) in order_of
    )


def files(emulator: Emulator, suffix: str) -> Counter[str]:
    """How often each order's file (by the ref in its name) was shared into a conversation.

    A worker killed between uploading the bytes and completing the upload leaves a file
    shared nowhere: nobody sees it, and the next sender rightly uploads again.
    """
    return Counter(
        f.filename.split(".")[0].upper()
        for f in emulator.files
        if f.filename.endswith(suffix) and f.channels
    )


def live_claims(services: Services) -> int:
    with services.sessions.begin() as session:
        rows = session.scalars(
            select(Reminder.id).where(
                Reminder.claimed_until.is_not(None),
                Reminder.sent_at.is_(None),
                Reminder.cancelled_at.is_(None),
            )
        )
        return len(rows.all())


@contextmanager
def explained(progress: Callable[[], str]) -> Iterator[None]:
    """A timed-out wait says where the run stands."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {progress()}") from None


def test_kill_9_workers_while_20_orders_go_through(
    emulator: Emulator,
    fresh_postgres: str,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    seed = int(os.environ.get("CERTDESK_KILL_SEED") or random.randrange(1 << 30))
    print(f"\nkill seed {seed} (CERTDESK_KILL_SEED={seed} replays it)")
    for person in PEOPLE:
        emulator.add_user(person, name=person.lower(), tz="UTC")
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    data, logs = tmp_path / "data", tmp_path / "logs"
    logs.mkdir()
    env = certdesk_env(
        emulator,
        data,
        DATABASE_URL=fresh_postgres,
        CERTDESK_MASTER_KEY=MASTER_KEY,
        CERTDESK_PUBLIC_URL=urls[0],
        **TIMINGS,
    )
    # As an operator would: migrate once; and the simulated CA's own keys are made once here
    # rather than raced for by four processes sharing its data directory.
    upgraded = certdesk("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    services = build_services(Settings.load(env), migrate=False)
    _ = services.ca.authority  # type: ignore[attr-defined]
    serves = [
        Proc(
            f"serve{i}",
            ["serve", "--host", "127.0.0.1", "--port", str(p), "--no-scheduler"],
            env,
            logs,
        )
        for i, p in enumerate(ports)
    ]
    workers = [Proc(f"worker{i}", ["worker"], env, logs) for i in range(2)]
    killer = Killer(workers, random.Random(seed))
    try:
        for proc in (*serves, *workers):
            proc.start()
        wait_for(lambda: all(map(healthy, urls)), timeout=60, what="both serve processes")
        killer.start()
        sides = [
            SlackSide(emulator, request_url=f"{u}/slack/events", signing_secret=SECRET)
            for u in urls
        ]
        refs: dict[int, str] = {}
        for i, person in enumerate(PEOPLE):  # alternately through each replica
            ref = register_and_submit(sides[i % 2], emulator, person, f"site{i}.example.com")
            refs[int(ref[3:])] = ref
        assert len(refs) == ORDERS
        requester = {order_id: o.requester_id for order_id, o in orders(services).items()}

        # Each order's owner follows the CA's link once its second reminder has arrived (or
        # the first came so late that the second's time had passed: slots.chain_next skips it).
        verified: set[int] = set()

        def verify_the_reminded() -> bool:
            posted, rows = slot_posts(emulator, services), slot_rows(services)
            for order_id, order in orders(services).items():
                person = requester[order_id]
                second = posted[(order_id, person, 1)] or (
                    posted[(order_id, person, 0)]
                    and any(k[:2] == (order_id, person) and k[2] >= 2 for k in rows)
                )
                if order_id in verified or not second:
                    continue
                assert order.ca_ref, f"{refs[order_id]} was reminded before it reached the CA"
                link = mailer.verification_links(data / "mail", ca_ref=order.ca_ref)[-1]
                # Either replica serves the CA's pages.
                assert follow_link(link.replace(urls[0], urls[order_id % 2])) == 200
                verified.add(order_id)
            return len(verified) == ORDERS

        def progress() -> str:
            posted = slot_posts(emulator, services)
            steps = Counter(step for (_, _, step), n in posted.items() for _ in range(n))
            states = Counter(o.state for o in orders(services).values())
            return f"orders {dict(states)}, reminders posted by step {dict(steps)}"

        with explained(progress):
            wait_for(verify_the_reminded, timeout=300, what="every order's second reminder")

        def all_delivered() -> bool:
            states = orders(services).values()
            return (
                all(o.state == "issued" for o in states)
                and not owed(services)
                and (len(files(emulator, ".fullchain.pem")) == ORDERS)
            )

        with explained(progress):
            wait_for(all_delivered, timeout=240, what="every certificate issued and delivered")
        killer.finish(at_least=KILLS)
        # Settled: no reminder held by a killed worker waits to be taken over.
        wait_for(lambda: live_claims(services) == 0, timeout=30, what="claims to settle")
    finally:
        killer.done.set()
        killer.join(timeout=30)  # it may be starting a worker again
        hung = []
        for proc in (*workers, *serves):
            if proc.alive():
                try:
                    proc.terminate()
                except AssertionError as error:  # aborted; the others are stopped all the same
                    hung.append(error)
        if hung:
            raise hung[0]
    posted = slot_posts(emulator, services)
    issued = notices(emulator, services, "issued")
    submitted = notices(emulator, services, "submitted")
    chains, csrs = files(emulator, ".fullchain.pem"), files(emulator, ".csr.pem")
    final, rows = orders(services), slot_rows(services)
    left = owed(services)
    services.engine.dispose()
    late = {k for k in expected_firsts(final) if (*k[:2], 1) not in rows}
    summary = (
        f"seed {seed}: {killer.kills} workers killed with SIGKILL "
        f"({killer.leader_kills} while holding the scheduler lock); {len(final)} orders: "
        f"{Counter(o.state for o in final.values())}; reminders posted per step: "
        f"{Counter(step for (_, _, step), n in posted.items() for _ in range(n))}; "
        f"issuance DMs {sum(issued.values())}, chain files {sum(chains.values())}, "
        f"submission DMs {sum(submitted.values())}, CSR files {sum(csrs.values())}; "
        f"{len(late)} second reminder(s) passed over because the first went out after its time"
    )
    print(summary)
    record_property("summary", summary)  # printed at the end of the run (tests/conftest.py)
    doubled = {k: n for k, n in posted.items() if n > 1}
    assert doubled == {}, f"reminders posted twice: {doubled}"
    # Every slot was either sent (and is in Slack once, with the ts recorded) or stopped when
    # the order was issued (and is not in Slack); every person got the first.
    assert all(bool(r.sent_at) != bool(r.cancelled_at) for r in rows.values()), "none left"
    assert {k for k, r in rows.items() if r.sent_at} == set(posted), "sent means in Slack"
    assert expected_firsts(final) <= set(posted), "everyone got the first reminder"
    for key in late:  # a skipped second step is only one whose time passed before the first
        first, order = rows[key], final[key[0]]
        assert first.sent_at and order.verification_started_at
        assert first.sent_at >= order.verification_started_at + SECOND_STEP, key
    assert all(o.state == "issued" for o in final.values())
    assert left == [], f"deliveries never sent: {left}"
    assert issued == Counter(dict.fromkeys(refs, 1)), "one issuance DM per order"
    assert chains == Counter(dict.fromkeys(refs.values(), 1)), "one chain file per order"
    assert submitted == Counter(dict.fromkeys(refs, 1)), "one submission DM per order"
    assert csrs == Counter(dict.fromkeys(refs.values(), 1)), "one CSR file per order"
    assert killer.kills >= KILLS
