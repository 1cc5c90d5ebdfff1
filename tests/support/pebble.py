"""Pebble for tests: the launcher lives in bot.devtools.pebble (the demo uses it too)."""

from __future__ import annotations

from pathlib import Path

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

__all__ = [
    "CHALLTESTSRV",
    "PEBBLE",
    "PEBBLE_CAA_IDENTITY",
    "Pebble",
    "PebbleMissing",
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
