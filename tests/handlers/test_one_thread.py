"""handlers.one_thread: calls run in turn on one thread, answered as a pool's futures are."""

from __future__ import annotations

import gc
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError

import pytest

from handlers import one_thread
from handlers.one_thread import OneThread

Make = Callable[..., OneThread]


@pytest.fixture
def make() -> Iterator[Make]:
    """OneThreads for a test, each stopped (its thread ended) when the test is done."""
    made: list[OneThread] = []

    def build(name: str, **kwargs: object) -> OneThread:
        made.append(OneThread(name, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield build
    for runner in made:
        runner.shutdown(timeout=10)


def threads_named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def held(runner: OneThread) -> threading.Event:
    """Hold the runner's thread (a disk that stopped answering) until the event is set."""
    released = threading.Event()
    runner.submit(released.wait, 10)
    return released


def in_child(check: Callable[[], bool]) -> int:
    """Run ``check`` in a forked child; its exit code (0 when it said True)."""
    child = os.fork()
    if child == 0:
        ok = False
        try:
            ok = check()
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def test_calls_run_in_turn_on_one_thread_started_by_the_first_call(make: Make) -> None:
    runner = make("test-one-thread-order")
    assert threads_named("test-one-thread-order") == []  # nothing runs before it is used
    ran: list[tuple[int, str]] = []
    calls = [
        runner.submit(lambda i=i: ran.append((i, threading.current_thread().name)) or i)
        for i in range(20)
    ]
    assert [c.result(timeout=10) for c in calls] == list(range(20))
    assert ran == [(i, "test-one-thread-order") for i in range(20)]
    assert len(threads_named("test-one-thread-order")) == 1
    thread = threads_named("test-one-thread-order")[0]
    assert thread.daemon, "a call stalled on a disk must not keep the process from exiting"
    runner.shutdown(timeout=10)
    assert not thread.is_alive()


def test_arguments_go_with_the_call_and_its_exception_comes_back(make: Make) -> None:
    runner = make("test-one-thread-errors")
    assert runner.submit(divmod, 7, 2).result(timeout=10) == (3, 1)
    failing = runner.submit(int, "not a number")
    with pytest.raises(ValueError, match="not a number"):
        failing.result(timeout=10)
    with pytest.raises(ValueError):  # asked again: the same answer
        failing.result(timeout=10)
    assert runner.submit(lambda: "still running").result(timeout=10) == "still running"


def test_a_failed_call_is_freed_once_its_waiter_lets_go_of_it(make: Make) -> None:
    """The error's traceback does not hold the call (which holds the error): no cycle."""
    runner = make("test-one-thread-cycle")
    failing = runner.submit(int, "not a number")
    with pytest.raises(ValueError):
        failing.result(timeout=10)
    gone = weakref.ref(failing)
    del failing
    gc.disable()  # only reference counting may free it
    try:
        assert gone() is None
    finally:
        gc.enable()


def test_a_late_call_times_out_its_waiter_and_its_value_still_comes(make: Make) -> None:
    runner = make("test-one-thread-late")
    released = held(runner)
    try:
        late = runner.submit(lambda: "late")
        with pytest.raises(TimeoutError):
            late.result(timeout=0.1)
        with pytest.raises(TimeoutError):  # no wait below zero: at once, as a Future does
            late.result(timeout=-1)
    finally:
        released.set()
    assert late.result(timeout=10) == "late"


def test_a_call_cancelled_before_it_began_never_runs(make: Make) -> None:
    runner = make("test-one-thread-cancel")
    released = held(runner)
    ran: list[str] = []
    try:
        queued = runner.submit(lambda: ran.append("queued"))
        assert queued.cancel() and queued.cancel()
        with pytest.raises(CancelledError):  # not TimeoutError: nothing to wait for
            queued.result(timeout=5)
    finally:
        released.set()
    assert runner.submit(lambda: "after").result(timeout=10) == "after"
    assert ran == []


def test_an_exit_inside_a_call_reaches_its_waiter_and_the_thread_goes_on(make: Make) -> None:
    def leave() -> None:
        raise SystemExit(3)

    runner = make("test-one-thread-exit")
    with pytest.raises(SystemExit):
        runner.submit(leave).result(timeout=10)
    assert runner.submit(lambda: "still here").result(timeout=10) == "still here"


def test_a_failing_initializer_fails_every_call_at_once(make: Make) -> None:
    def broken() -> None:
        raise RuntimeError("no connection")

    runner = make("test-one-thread-broken", initializer=broken)
    for _ in range(3):  # each call, not only the first, is told at once (no 2.5 s wait)
        with pytest.raises(RuntimeError, match="no connection"):
            runner.submit(lambda: "never").result(timeout=5)


def test_a_call_already_running_is_not_cancelled(make: Make) -> None:
    runner = make("test-one-thread-running")
    begun, released = threading.Event(), threading.Event()

    def slow() -> str:
        begun.set()
        released.wait(10)
        return "finished"

    running = runner.submit(slow)
    try:
        assert begun.wait(10)
        assert not running.cancel()
    finally:
        released.set()
    assert running.result(timeout=10) == "finished"


def test_the_initializer_runs_on_the_thread_before_the_first_call(make: Make) -> None:
    seen: list[str] = []
    runner = make(
        "test-one-thread-init", initializer=lambda: seen.append(threading.current_thread().name)
    )
    runner.submit(lambda: seen.append("call")).result(timeout=10)
    assert seen == ["test-one-thread-init", "call"]


def test_a_process_forked_after_the_thread_started_runs_calls_on_a_thread_of_its_own(
    make: Make,
) -> None:
    runner = make("test-one-thread-fork")
    assert runner.submit(os.getpid).result(timeout=10) == os.getpid()
    # The child's copy of the thread is gone; a call must still run, in the child.
    assert in_child(lambda: runner.submit(os.getpid).result(timeout=10) == os.getpid()) == 0
    assert runner.submit(lambda: "parent").result(timeout=10) == "parent"


def test_a_fork_while_a_call_changes_state_leaves_the_child_no_lock_held(make: Make) -> None:
    """The fork copies a lock another thread held at that moment: the child gets new ones."""
    runner = make("test-one-thread-fork-locked")
    runner.submit(lambda: None).result(timeout=10)
    with one_thread._moving:  # as if the thread were starting a call right then
        code = in_child(lambda: runner.submit(lambda: "child").result(timeout=5) == "child")
    assert code == 0
