"""Work done after Slack has been answered: a small thread pool that logs every failure."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from bot import metrics

logger = logging.getLogger(__name__)


class Background:
    """Runs callables after the ack; failures are logged with their traceback."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="certdesk-bg")
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` in the pool."""
        # The log context (order, request, team) of the request that handed this work over.
        context = contextvars.copy_context()
        metrics.background_queued()
        try:
            future = self._pool.submit(context.run, self._run, fn, args, kwargs)
        except BaseException:  # shut down: nothing was queued after all
            metrics.background_done()
            raise
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until everything submitted so far (and what it submitted) has finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return
            for future in pending:
                with contextlib.suppress(Exception):  # already logged in _run
                    future.result(timeout=max(0.0, deadline - time.monotonic()))
        raise TimeoutError("background work did not finish in time")

    def shutdown(self) -> None:
        """Finish queued work and stop the threads."""
        self._pool.shutdown(wait=True)

    def _forget(self, future: Future[Any]) -> None:
        metrics.background_done()
        with self._lock:
            self._pending.discard(future)

    @staticmethod
    def _run(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            logger.exception("background task %s failed", getattr(fn, "__qualname__", fn))
            raise
