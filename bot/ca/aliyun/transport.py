"""The SDK client for Alibaba Cloud's CAS API, and every failure turned into an AliyunError."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from alibabacloud_cas20200407.client import Client
from alibabacloud_tea_openapi.models import Config
from Tea.exceptions import TeaException, UnretryableException

from bot.ca.aliyun.problems import Problem, describe, is_retryable
from bot.errors import CAError

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Milliseconds (the SDK's unit); the scheduler retries later anyway.
CONNECT_TIMEOUT_MS = 5_000
READ_TIMEOUT_MS = 15_000


class AliyunError(CAError):
    """The CAS API refused a call or could not be reached; ``code`` is its error code, if any."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False) -> None:
        super().__init__(message, retryable=retryable)
        self.code = code


class Transport:
    """One AccessKey at one CAS endpoint; every call goes through ``call``."""

    def __init__(
        self, *, access_key_id: str, access_key_secret: str, endpoint: str, region: str
    ) -> None:
        plain = endpoint.startswith("http://")
        self.host = endpoint.removeprefix("http://")
        self.access_key_id = access_key_id
        config = Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            region_id=region,
            endpoint=self.host,
            protocol="http" if plain else "https",
            connect_timeout=CONNECT_TIMEOUT_MS,
            read_timeout=READ_TIMEOUT_MS,
        )
        self.client = Client(config)
        # The SDK keeps its credential provider and HTTP session per client: one call at a time.
        self._lock = threading.Lock()

    def call(self, action: str, doing: str, fn: Callable[..., T], *args: Any) -> T:
        """Run one SDK call (``fn(*args)``); raise AliyunError saying what to do on failure."""
        with self._lock, self._translate(action, doing):
            response = fn(*args)
        body = getattr(response, "body", None)
        logger.debug("aliyun %s ok (request %s)", action, getattr(body, "request_id", "?"))
        return response

    @contextmanager
    def _translate(self, action: str, doing: str) -> Iterator[None]:
        try:
            yield
        except UnretryableException as exc:
            # The SDK wraps transport failures (refused connection, timeout, TLS) in this.
            inner = getattr(exc, "inner_exception", None)
            raise AliyunError(
                f"Could not reach Alibaba Cloud at {self.host} to {doing} "
                f"({type(inner or exc).__name__}); certdesk will try again later.",
                retryable=True,
            ) from None
        except TeaException as exc:
            problem = _problem(action, exc)
            logger.info(
                "aliyun %s refused: %s HTTP %s (request %s)",
                action,
                problem.code,
                problem.status,
                problem.request_id,
            )
            raise AliyunError(
                describe(problem, doing=doing, access_key_id=self.access_key_id),
                code=problem.code,
                retryable=is_retryable(problem),
            ) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise AliyunError(
                f"Alibaba Cloud gave an answer certdesk cannot use while trying to {doing} "
                f"({type(exc).__name__})."
            ) from None


def _problem(action: str, exc: TeaException) -> Problem:
    data = getattr(exc, "data", None)
    data = data if isinstance(data, dict) else {}
    status = getattr(exc, "status_code", None) or data.get("statusCode") or 0
    return Problem(
        action=action,
        code=str(getattr(exc, "code", "") or data.get("Code") or "Unknown"),
        # The SDK's own message is "code: 400, <Message> request id: …"; prefer the service's.
        message=str(data.get("Message") or getattr(exc, "message", "") or ""),
        status=int(status),
        request_id=str(getattr(exc, "request_id", "") or data.get("RequestId") or ""),
    )
