"""replies.in_time: an answer in words when the work is late; work that has not begun by
then never runs (the person was told it was not done), work already begun goes on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from handlers.replies import in_time


@pytest.fixture
def held_pool() -> Iterator[tuple[ThreadPoolExecutor, threading.Event]]:
    """A one-thread pool whose thread is held (a database that stopped answering) until the
    event is set."""
    pool = ThreadPoolExecutor(max_workers=1)
    released = threading.Event()
    pool.submit(released.wait, 10)
    yield pool, released
    released.set()
    pool.shutdown(wait=True)


def test_work_still_waiting_for_a_thread_at_its_deadline_never_runs(
    held_pool: tuple[ThreadPoolExecutor, threading.Event],
) -> None:
    pool, released = held_pool
    saved: list[str] = []
    assert not in_time(lambda: saved.append("the form"), seconds=0.2, pool=pool)
    released.set()
    pool.shutdown(wait=True)
    assert saved == [], "a write queued past its answer would have happened after 'try again'"


def test_work_begun_before_its_deadline_goes_on_and_its_effects_stand() -> None:
    pool = ThreadPoolExecutor(max_workers=1)
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
        pool.shutdown(wait=True)
    assert saved == ["the form"]


def test_work_in_time_is_answered() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        saved: list[str] = []
        assert in_time(lambda: saved.append("the form"), seconds=5, pool=pool)
        assert saved == ["the form"]
