"""replies.in_time: an answer in words when the work is late; work that has not begun by
then never runs (the person was told it was not done), work already begun goes on. The same
on a pool of threads (REQUEST_POOL) and on one thread (SQLITE_READS)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from handlers.one_thread import OneThread, Runs
from handlers.replies import in_time


@pytest.fixture(params=["pool", "one thread"])
def runner(request: pytest.FixtureRequest) -> Iterator[tuple[Runs, Callable[[], None]]]:
    """Somewhere to run work with one thread, and how to wait until it has run all it took."""
    if request.param == "pool":
        pool = ThreadPoolExecutor(max_workers=1)
        yield pool, lambda: pool.shutdown(wait=True)
        pool.shutdown(wait=True)
    else:
        one = OneThread("test-in-time")

        def drain() -> None:
            one.submit(lambda: None).result(timeout=10)

        drain()  # its thread started: work handed over below begins at once
        yield one, drain
        one.shutdown(timeout=10)


def test_work_still_waiting_for_a_thread_at_its_deadline_never_runs(
    runner: tuple[Runs, Callable[[], None]],
) -> None:
    pool, drain = runner
    released = threading.Event()
    pool.submit(released.wait, 10)  # a database that stopped answering holds the thread
    saved: list[str] = []
    try:
        assert not in_time(lambda: saved.append("the form"), seconds=0.2, pool=pool)
    finally:
        released.set()
    drain()
    assert saved == [], "a write queued past its answer would have happened after 'try again'"


def test_work_begun_before_its_deadline_goes_on_and_its_effects_stand(
    runner: tuple[Runs, Callable[[], None]],
) -> None:
    pool, drain = runner
    begun, released = threading.Event(), threading.Event()
    saved: list[str] = []

    def slow_save() -> None:
        begun.set()
        released.wait(10)
        saved.append("the form")

    try:
        assert not in_time(slow_save, seconds=0.2, pool=pool)
        assert begun.is_set()
    finally:
        released.set()
    drain()
    assert saved == ["the form"]


def test_work_in_time_is_answered(runner: tuple[Runs, Callable[[], None]]) -> None:
    pool, _ = runner
    saved: list[str] = []
    assert in_time(lambda: saved.append("the form"), seconds=5, pool=pool)
    assert saved == ["the form"]


ASKER: contextvars.ContextVar[str] = contextvars.ContextVar("asker", default="nobody")


def test_work_runs_with_the_context_of_the_request_that_handed_it_over(
    runner: tuple[Runs, Callable[[], None]],
) -> None:
    """The request's log fields and workspace (context variables) go with its work."""
    pool, _ = runner
    seen: list[str] = []
    token = ASKER.set("U-ALICE")
    try:
        assert in_time(lambda: seen.append(ASKER.get()), seconds=5, pool=pool)
    finally:
        ASKER.reset(token)
    assert seen == ["U-ALICE"]
