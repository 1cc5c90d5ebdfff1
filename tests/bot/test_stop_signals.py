"""SIGTERM and SIGINT become one call on a thread of its own; the handler itself takes no lock."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator

import pytest
from support.app_fixtures import wait_for

from bot.stop_signals import STOP_SIGNALS, on_stop_signal


@pytest.fixture
def handlers_restored() -> Iterator[None]:
    """Put back the handlers pytest itself set (SIGINT) after the test."""
    assert threading.current_thread() is threading.main_thread(), "signal.signal needs it"
    before = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


def test_the_handler_returns_while_the_main_thread_holds_the_events_lock(
    handlers_restored: None, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    stopped: list[str] = []

    def stopping() -> None:
        stopped.append(threading.current_thread().name)
        stop.set()

    on_stop_signal(stopping, who="worker")
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler)
    caplog.set_level(logging.INFO, logger="bot.stop_signals")

    def signalled() -> None:
        handler(signal.SIGTERM, None)
        handler(signal.SIGINT, None)  # a second signal changes nothing

    # Where a handler may run: inside Event.wait(), with the event's own lock held. One that
    # called stop.set() there would wait for that lock forever (here: past the join).
    with stop._cond:  # type: ignore[attr-defined]  # the lock Event.wait() holds
        running = threading.Thread(target=signalled)
        running.start()
        running.join(timeout=5)
        assert not running.is_alive(), "the handler waited for the event's lock"
    wait_for(stop.is_set, timeout=5, what="the relay to stop")
    assert stopped == ["certdesk-stop-signal"]
    assert "worker: SIGTERM received, stopping" in caplog.text
    assert "SIGINT" not in caplog.text


def test_a_real_signal_from_another_thread_stops_a_waiting_main_thread(
    handlers_restored: None,
) -> None:
    stop = threading.Event()
    on_stop_signal(stop.set, who="test")
    sender = threading.Thread(
        target=lambda: signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
    )
    sender.start()
    sender.join()
    # The main thread waits as run_worker does: with a timeout, so the handler gets to run.
    for _ in range(100):
        if stop.wait(0.1):
            break
    assert stop.is_set()
