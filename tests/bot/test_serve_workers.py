"""`certdesk serve --workers 2`: real processes, signed requests, and one scheduler in all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.app_fixtures import ALICE, BOB, SECRET, certdesk_env, wait_for

from bot.config import Settings
from bot.devtools.ports import free_port
from bot.emulator import Emulator, SlackSide
from bot.scheduler_lock import holder, lock_path
from bot.serve_workers import WORKER_HEADER


@dataclass
class Served:
    """A running `certdesk serve --workers 2` and what the test needs to watch it."""

    url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    settings: Settings
    log: Path


def _health(url: str) -> str | None:
    """The pid of the worker that answered /healthz, or None if nothing answered."""
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.headers.get(WORKER_HEADER) if response.status == 200 else None
    except OSError:
        return None


def _children(pid: int) -> dict[int, str]:
    """Child processes of ``pid`` and their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (from /proc)."""
    try:
        return any(
            os.readlink(fd) == str(path.resolve()) for fd in Path(f"/proc/{pid}/fd").iterdir()
        )
    except OSError:  # gone, or an fd closed while we looked
        return False


def _schedulers(pid: int) -> list[int]:
    return [child for child, cmd in _children(pid).items() if "bot.serve_workers" in cmd]


@pytest.fixture
def served(emulator: Emulator, tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    env = {**os.environ, **certdesk_env(emulator, tmp_path / "data")}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"]
            + ["--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: _health(url) or process.poll() is not None,
            timeout=60,
            what="certdesk serve --workers 2 to answer /healthz",
        )
        assert process.poll() is None, log.read_text()
        settings = Settings.load(certdesk_env(emulator, tmp_path / "data"))
        yield Served(url=url, process=process, env=env, settings=settings, log=log)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_two_workers_answer_health_checks_and_signed_commands(
    served: Served, emulator: Emulator
) -> None:
    pids: set[str] = set()

    def both_answered() -> bool:
        # Each worker loads the app after the fork; the second may still be loading at first.
        with ThreadPoolExecutor(8) as pool:
            pids.update(p for p in pool.map(lambda _: _health(served.url), range(50)) if p)
        return len(pids) >= 2

    wait_for(both_answered, timeout=30, what="both workers to answer /healthz")
    workers = {
        pid for pid, cmd in _children(served.process.pid).items() if "serve_workers" not in cmd
    }
    assert len(pids) == 2 and {int(p) for p in pids} == workers, served.log.read_text()
    slack = SlackSide(emulator, request_url=f"{served.url}/slack/events", signing_secret=SECRET)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda u: slack.slash_command(u, "help"), [ALICE, BOB] * 10))
    assert {a.status for a in answers} == {200}
    assert all("/cert" in str(a.json()) for a in answers)
    forged = SlackSide(emulator, request_url=f"{served.url}/slack/events", signing_secret="x")
    assert forged.slash_command(ALICE, "help").status == 401


def test_exactly_one_scheduler_runs_and_a_dead_one_is_replaced(served: Served) -> None:
    first = wait_for(lambda: _schedulers(served.process.pid), timeout=30, what="a scheduler")
    assert len(first) == 1
    assert wait_for(lambda: holder(served.settings), timeout=30, what="the lock") == first[0]
    # A second scheduler on the same store (say, a stray `serve`) only stands by.
    stray = subprocess.Popen([sys.executable, "-m", "bot.serve_workers"], env=served.env)
    try:
        # Standing by: it has the lock file open and keeps trying it (it would hold it by now).
        lock = lock_path(served.settings)
        assert lock is not None
        wait_for(
            lambda: _has_open(stray.pid, lock) or stray.poll() is not None,
            timeout=30,
            what="the stray scheduler to reach the lock",
        )
        assert holder(served.settings) == first[0] and stray.poll() is None
        os.kill(first[0], signal.SIGKILL)
        # The stray one or the arbiter's replacement takes over: still one holder.
        taken = wait_for(
            lambda: (h := holder(served.settings)) and h != first[0] and h,
            timeout=30,
            what="another scheduler to take the lock",
        )
        replacement = wait_for(
            lambda: [p for p in _schedulers(served.process.pid) if p != first[0]],
            timeout=30,
            what="the arbiter to start another scheduler",
        )
        assert taken in (stray.pid, replacement[0])
        assert len(_schedulers(served.process.pid)) == 1
    finally:
        stray.terminate()
        stray.wait(timeout=15)
    log = served.log.read_text()
    # The first holder, and the arbiter's replacement if it (not the stray) took over.
    assert 1 <= log.count("holds the scheduler lock") <= 2, log


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--workers", "0"], "expected a whole number of at least 1, got '0'"),
        (["--workers", "two"], "expected a whole number of at least 1, got 'two'"),
        (["--workers", "2", "--socket"], "--workers is for the HTTP request URL"),
    ],
)
def test_bad_worker_counts_are_refused_in_one_line(
    tmp_path: Path, args: list[str], says: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CERTDESK_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-x", SLACK_SIGNING_SECRET="s", SLACK_APP_TOKEN="xapp-1")
    env.update(CERTDESK_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2 and says in result.stderr, result.stderr
