"""SIGTERM and SIGINT, turned into a call on a thread of its own.

A Python signal handler runs in the main thread between two of its bytecodes, wherever that
thread is: inside ``threading.Event.wait()`` while it holds the event's own lock, inside a
logging call, inside ``Thread.start()``. A handler that sets an event, logs or starts a thread
can wait there forever for a lock its own thread holds. So the handler here only puts the
signal on a ``queue.SimpleQueue`` (which is safe in a signal handler), and a thread of its own
logs it and does the stopping.

The main thread must still wake now and then (a wait with a timeout, a server loop that
polls): a signal the kernel hands to another of the process's threads is only marked pending
until the main thread next runs Python code.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Callable
from types import FrameType

logger = logging.getLogger(__name__)

#: The signals an orchestrator (SIGTERM) or a person at a terminal (SIGINT) stops us with.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_stop_signal(stop: Callable[[], None], *, who: str) -> None:
    """At the first SIGTERM or SIGINT, log it and call ``stop`` on a thread of its own.

    Call from the main thread (only it may set signal handlers). Later signals change nothing.
    """
    received: queue.SimpleQueue[int] = queue.SimpleQueue()

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.put(signum)

    def relay() -> None:
        signum = received.get()
        logger.info("%s: %s received, stopping", who, signal.Signals(signum).name)
        stop()

    threading.Thread(target=relay, name="certdesk-stop-signal", daemon=True).start()
    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)
