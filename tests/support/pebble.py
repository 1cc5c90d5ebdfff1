"""Pebble for tests: the launcher lives in bot.devtools.pebble (the demo uses it too)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from bot.ca.base import Submission
from bot.devtools import pebble as _pebble
from bot.devtools.pebble import (
    CHALLTESTSRV,
    PEBBLE,
    PEBBLE_CAA_IDENTITY,
    Pebble,
    PebbleMissing,
    pebble_available,
)
from bot.devtools.ports import free_port
from support.csrs import crypto_csr

__all__ = [
    "CHALLTESTSRV",
    "PEBBLE",
    "PEBBLE_CAA_IDENTITY",
    "Pebble",
    "PebbleMissing",
    "dv_submission",
    "free_port",
    "pebble_available",
    "skip_unless_pebble",
    "start_pebble",
]


def skip_unless_pebble() -> None:
    """pytest.skip the calling test (or module) when Pebble is not installed.

    In CI (CI=true), .ci/run installs Pebble: a missing one fails instead of skipping, so the
    ACME tests can never pass by not running.
    """
    import os

    import pytest

    if not pebble_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PEBBLE} is missing in CI: .ci/install-pebble.sh should install it")
        pytest.skip(
            f"{PEBBLE} or {CHALLTESTSRV} is missing: run .ci/install-pebble.sh "
            "(Debian package 'pebble') to run the ACME tests against a real server",
            allow_module_level=True,
        )


def start_pebble(tmp_path: Path, *, env: dict[str, str] | None = None) -> Pebble:
    """Start Pebble and challtestsrv under ``tmp_path``, skipping the test if not installed."""
    skip_unless_pebble()
    return _pebble.start_pebble(tmp_path, env=env)


def dv_submission(domains: Sequence[str], *, order_ref: str = "CD-1") -> Submission:
    """A DV submission of ``domains``, its CSR from a fresh P-256 key, as sent to an ACME CA."""
    return Submission(
        order_ref=order_ref,
        product="dv",
        domains=tuple(domains),
        csr_pem=crypto_csr(ec.generate_private_key(ec.SECP256R1()), domains),
        applicant_name="Ada",
        applicant_email="ada@example.com",
        applicant_phone="+44 20 7946 0000",
    )
