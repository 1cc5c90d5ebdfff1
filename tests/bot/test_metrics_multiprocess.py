"""Two `certdesk serve` processes sharing PROMETHEUS_MULTIPROC_DIR: either one's /metrics
counts what both did; with LOG_FORMAT=json every line they log is one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.app_fixtures import ALICE, SECRET, TOKEN, certdesk_env, wait_for
from support.replicas import healthy

from bot.devtools.ports import free_port
from bot.emulator import Emulator, SlackSide


def _sample(url: str, name: str, missing: float = 0.0, **labels: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return missing


@pytest.fixture
def two_servers(emulator: Emulator, tmp_path: Path) -> Iterator[list[tuple[str, Path]]]:
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {
        **os.environ,
        **certdesk_env(emulator, tmp_path / "data", LOG_FORMAT="json"),
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    started: list[tuple[subprocess.Popen[bytes], str, Path]] = []
    try:
        for n in range(2):
            port, log = free_port(), tmp_path / f"serve{n}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1",
                     "--port", str(port), "--no-scheduler"],
                    env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
                )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            started.append((process, url, log))
            # One after the other: the first creates the SQLite schema.
            wait_for(lambda p=process, u=url: healthy(u) or p.poll() is not None, timeout=30)
            assert process.poll() is None, log.read_text()
        yield [(url, log) for _, url, log in started]
    finally:
        for process, _, _ in started:
            process.terminate()
            process.wait(timeout=10)


def test_each_replica_reports_what_all_of_them_did(
    two_servers: list[tuple[str, Path]], emulator: Emulator
) -> None:
    (first, first_log), (second, second_log) = two_servers
    # Both processes checked their token at start-up (Bolt's auth.test).
    assert _sample(first, "certdesk_slack_api_calls_total", method="auth.test", outcome="ok") == 2
    before = _sample(first, "certdesk_slack_api_calls_total", method="views.open", outcome="ok")
    slack = SlackSide(emulator, request_url=f"{second}/slack/events", signing_secret=SECRET)
    assert slack.slash_command(ALICE, "new").status == 200
    assert len(emulator.calls_to("views.open")) == 1
    # The second process opened the modal; the first one's /metrics shows it.
    after = _sample(first, "certdesk_slack_api_calls_total", method="views.open", outcome="ok")
    assert after == before + 1
    assert _sample(second, "certdesk_slack_api_calls_total", method="views.open", outcome="ok") == (
        after
    )

    lines = [line for line in second_log.read_text().splitlines() if line.strip()]
    assert lines, "the server logged its start"
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any("serving http://" in r["message"] for r in records)
    both = first_log.read_text() + second_log.read_text()
    assert TOKEN not in both and SECRET not in both


def test_the_worker_serves_its_sweeps_on_a_metrics_port(emulator: Emulator, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, **certdesk_env(emulator, tmp_path / "data", CERTDESK_TICK="1s")}
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker",
             "--metrics-host", "127.0.0.1", "--metrics-port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def swept() -> bool:
        assert worker.poll() is None, log.read_text()
        try:
            return (
                _sample(url, "certdesk_sweep_seconds_count", job="send_reminders", outcome="ok")
                >= 1
            )
        except OSError:
            return False

    try:
        wait_for(swept, timeout=30, what="the worker's first sweeps on /metrics")
        assert _sample(url, "certdesk_orders", missing=-1, state="issued") == 0.0
        assert _sample(url, "certdesk_metrics_database_up") == 1.0
    finally:
        worker.terminate()
        worker.wait(timeout=10)
