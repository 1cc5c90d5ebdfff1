"""One thread running calls in turn, for a request's thread that waits for each of them.

``concurrent.futures.ThreadPoolExecutor`` wraps each call in a ``Future`` guarded by a
``Condition``: submitting, starting, finishing and waking the waiter each take that lock
and run Python around it. Every SQLite read of a `/cert list` went through it twice (there
and back); here a call is a lock its waiter blocks on, released once the thread has run it.
In-process a list went from ~246 to ~231 µs a request; served side by side with the pool,
in two runs, a list took 5% and 7% less CPU and 5% and 9% more were answered a second
(README "Performance").

The same contract as a pool's future, as far as ``handlers.replies.in_time`` uses it:
``result(timeout)`` returns the call's value or raises its exception, and raises
``TimeoutError`` when the call has not finished in time; ``cancel()`` keeps a call that has
not begun from ever running (its ``result()`` then raises ``CancelledError``). An
initializer that fails fails every call with its error at once, as a broken pool does. The
thread starts on the first call (never at import), again in a process forked after it
started, and does not hold up the interpreter's exit: a call stalled on a disk that stopped
answering would otherwise keep the process alive.
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import CancelledError
from typing import Any, Protocol

_PENDING, _RUNNING, _DONE, _CANCELLED = "pending", "running", "done", "cancelled"
#: Guards each call's move from pending to running, cancelled or failed (only one of them).
_moving = threading.Lock()


class Pending(Protocol):
    """What ``submit`` hands back: a ``concurrent.futures.Future`` or a ``Call``."""

    def result(self, timeout: float | None = None) -> Any: ...

    def cancel(self) -> bool: ...


class Runs(Protocol):
    """Where work is handed over: a ``ThreadPoolExecutor`` or a ``OneThread``."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Pending: ...


class Call:
    """One call handed to the thread; its waiter blocks on ``_done`` until it has an answer."""

    __slots__ = ("__weakref__", "_done", "_error", "_fn", "_state", "_value")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._done = threading.Lock()
        self._done.acquire()
        self._state = _PENDING
        self._value: Any = None
        self._error: BaseException | None = None

    def result(self, timeout: float | None = None) -> Any:
        """The call's value, or its exception raised here; TimeoutError if it has not
        finished within ``timeout`` seconds, CancelledError if it was cancelled."""
        wait = -1 if timeout is None else min(max(timeout, 0.0), threading.TIMEOUT_MAX)
        if not self._done.acquire(timeout=wait):
            raise TimeoutError
        self._done.release()  # for the next result()
        error = self._error
        if error is not None:
            del self  # the raised error's traceback holds this frame: it must not hold the call
            raise error
        return self._value

    def cancel(self) -> bool:
        """Keep the call from running if it has not begun; whether it never will."""
        return self._end_pending(_CANCELLED, CancelledError()) or self._state == _CANCELLED

    def fail(self, error: BaseException) -> None:
        """Answer the call with ``error`` instead of running it (unless it has begun)."""
        self._end_pending(_DONE, error)

    def run(self) -> None:
        """Run the call unless it was cancelled, and wake its waiter."""
        with _moving:
            if self._state != _PENDING:
                return
            self._state = _RUNNING
        try:
            self._value = self._fn()
        except BaseException as error:  # noqa: BLE001 - handed to the waiter, as a Future does
            self._error = error
        self._state = _DONE
        self._done.release()
        del self  # an error's traceback holds this frame: it must not hold the call as well

    def _end_pending(self, state: str, error: BaseException) -> bool:
        with _moving:
            if self._state != _PENDING:
                return False
            self._state, self._error = state, error
        self._done.release()
        return True


class OneThread:
    """A single thread that runs submitted calls in the order they came."""

    def __init__(self, name: str, *, initializer: Callable[[], None] | None = None) -> None:
        self.name = name
        self.initializer = initializer
        self._calls: queue.SimpleQueue[Call | None] = queue.SimpleQueue()  # None: stop
        self._thread: threading.Thread | None = None
        self._running = False
        self._starting = threading.Lock()
        _ALL.add(self)

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Call:
        """Queue ``fn(*args)`` to run on the thread after the calls before it."""
        if not self._running:
            self._start()
        call = Call((lambda: fn(*args)) if args else fn)
        self._calls.put(call)
        return call

    def _start(self) -> None:
        with self._starting:
            if self._running:
                return
            thread = threading.Thread(target=self._work, args=(self._calls,), name=self.name)
            thread.daemon = True
            thread.start()
            self._thread, self._running = thread, True

    def shutdown(self, timeout: float | None = None) -> None:
        """Let the thread end once the calls queued before this have run (a later call starts
        another thread); wait at most ``timeout`` seconds for it."""
        with self._starting:
            thread, calls = self._thread, self._calls
            self._thread, self._running, self._calls = None, False, queue.SimpleQueue()
        if thread is not None:
            calls.put(None)
            thread.join(timeout)

    def _work(self, calls: queue.SimpleQueue[Call | None]) -> None:
        try:
            if self.initializer is not None:
                self.initializer()
        except BaseException as error:  # noqa: BLE001 - every call is told, as by a broken pool
            for call in iter(calls.get, None):
                call.fail(error)
            return
        for call in iter(calls.get, None):
            call.run()
            del call  # a finished call and its answer are not kept until the next one comes

    def _forked(self) -> None:
        """In a forked child: the thread is gone, and a lock may have been copied held."""
        self._calls = queue.SimpleQueue()
        self._thread, self._running = None, False
        self._starting = threading.Lock()


_ALL: weakref.WeakSet[OneThread] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    global _moving
    _moving = threading.Lock()
    for one in list(_ALL):
        one._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)
