"""The CAS stand-in and an aliyun backend wired to it through the real SDK, for tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.ca.aliyun import AliyunBackend, Transport
from bot.ca.base import CAState, CAStatus, MemoryStateStore, Submission
from bot.devtools.aliyun import CasStandIn

ACCESS_KEY_ID = "LTAI5tCertdeskTest01"
ACCESS_KEY_SECRET = "Zk3v9QeXampleSecretValue0042"


@contextmanager
def standin(data_dir: Path, **timing: float) -> Iterator[CasStandIn]:
    """A running stand-in that knows one AccessKey, with short delays."""
    with CasStandIn(data_dir, credentials={ACCESS_KEY_ID: ACCESS_KEY_SECRET}, **timing) as s:
        yield s


def backend(
    cas: CasStandIn,
    *,
    key_id: str = ACCESS_KEY_ID,
    secret: str = ACCESS_KEY_SECRET,
    store: MemoryStateStore | None = None,
) -> AliyunBackend:
    """The aliyun backend talking to ``cas`` over HTTP, retrying a refused cancel quickly."""
    transport = Transport(
        access_key_id=key_id, access_key_secret=secret, endpoint=cas.endpoint, region="cn-hangzhou"
    )
    return AliyunBackend(
        transport, store=store or MemoryStateStore(), cancel_wait=3.0, cancel_interval=0.05
    )


def submission(**fields: object) -> Submission:
    """A DV submission; override any field."""
    values: dict = {
        "order_ref": "CD-0001",
        "product": "dv",
        "domains": ("example.com", "www.example.com"),
        "csr_pem": b"",
        "applicant_name": "Alice Chen",
        "applicant_email": "alice@example.com",
        "applicant_phone": "+86 138 0013 8000",
    }
    values.update(fields)
    return Submission(**values)


def wait_for(ca: AliyunBackend, ref: str, state: CAState, *, timeout: float = 5.0) -> CAStatus:
    """Poll status() until it reports ``state`` (the stand-in waits fractions of a second)."""
    return wait_until(lambda: ca.status(ref), lambda s: s.state == state, timeout=timeout)


def wait_until(
    get: Callable[[], CAStatus], done: Callable[[CAStatus], bool], *, timeout: float
) -> CAStatus:
    """Call ``get`` until ``done`` holds for its answer; fail with the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        last = get()
        if done(last) or time.monotonic() > deadline:
            assert done(last), last
            return last
        time.sleep(0.05)
