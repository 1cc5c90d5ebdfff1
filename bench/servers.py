"""Processes the benches measure: `certdesk serve`, the bare WSGI baseline, `certdesk worker`."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bench.load import Request
from bot.devtools.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time used so far by ``pid`` and every process below it (Linux
    /proc): what a server spent, whatever the load on the rest of the machine."""
    ticks = 0
    for each in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _wait_port(port: int, process: subprocess.Popen[bytes], path: str = "/healthz") -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start in 60 s")


@contextmanager
def running(
    args: list[str], env: dict[str, str], *, wait_path: str | None = "/healthz"
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Start a process (``{port}`` in ``args`` becomes a free port); stop it with SIGTERM."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    process = subprocess.Popen(
        [a.replace("{port}", str(port)) for a in args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        if wait_path is not None:
            try:
                _wait_port(port, process, wait_path)
            except RuntimeError:
                log.seek(0)
                raise RuntimeError(log.read().decode(errors="replace")[-2000:]) from None
        yield port, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def certdesk_serve(env: dict[str, str], *, workers: int) -> list[str]:
    """The command line of `certdesk serve` without a scheduler."""
    return [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "{port}"] + [
        "--no-scheduler",
        "--workers",
        str(workers),
    ]


def bare(workers: int) -> list[str]:
    """The command line of the bare WSGI baseline."""
    return [sys.executable, str(ROOT / "bench" / "bare_wsgi.py"), "{port}", str(workers)]


def slash_command(
    *, secret: str, team_id: str, user_id: str, text: str, channel: str = "D0BENCH"
) -> Request:
    """A signed `/cert` request as Slack sends it (valid for Slack's 5 minutes)."""
    body = urlencode(
        {
            "token": "bench",
            "team_id": team_id,
            "team_domain": "bench",
            "channel_id": channel,
            "channel_name": "directmessage",
            "user_id": user_id,
            "user_name": "bench",
            "command": "/cert",
            "text": text,
            "api_app_id": "A0BENCH",
            "is_enterprise_install": "false",
            "response_url": "http://127.0.0.1:9/response",
            "trigger_id": "1.2.bench",
        }
    ).encode()
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return Request(
        path="/slack/events",
        body=body,
        headers=(
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Slack-Request-Timestamp", timestamp),
            ("X-Slack-Signature", signature),
        ),
    )


def drain(port: int, *, limit: float = 120.0) -> None:
    """Wait until requests a load run left queued are done (/healthz answers within 0.1 s)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        start = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=limit)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
        except OSError:
            continue
        if time.monotonic() - start < 0.1:
            return
