"""Idle resident memory of `certdesk serve`, `certdesk serve --workers 2` and `certdesk worker`.

Starts each against the local Slack emulator and a fresh SQLite store, waits until it is up
and has settled, and reads VmRSS of every process it runs (Linux /proc). Run from the
repository root:

    .venv/bin/python -m bench.memory [--settle 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import servers
from bot.emulator import Emulator

TOKEN, SECRET = "xoxb-bench", "bench-secret"
TARGET_MB = 80


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def role(pid: int) -> str:
    """What a certdesk process is, from its command line."""
    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "bot.serve_workers" in cmd:
        return "scheduler process"
    return "gunicorn worker" if "bot.cli" in cmd else cmd[:40]


def main() -> None:
    """Start each command, let it settle, print the RSS of each of its processes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle before reading")
    args = parser.parse_args()
    commands = {
        "serve (waitress, scheduler in-process)": (["serve", "--port", "{port}"], "/healthz"),
        "serve --workers 2 (gunicorn)": (
            ["serve", "--port", "{port}", "--workers", "2"],
            "/healthz",
        ),
        "worker (scheduler alone)": (["worker"], None),
    }
    with Emulator(token=TOKEN, signing_secret=SECRET) as emu:
        for label, (argv, ready) in commands.items():
            with tempfile.TemporaryDirectory() as tmp:
                env = {
                    "SLACK_BOT_TOKEN": TOKEN,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": emu.api_url,
                    "CERTDESK_DATA_DIR": tmp,
                    "CERTDESK_LOG_LEVEL": "WARNING",
                }
                cmd = [sys.executable, "-m", "bot.cli", *argv]
                if argv[0] == "serve":
                    cmd[4:4] = ["--host", "127.0.0.1"]
                with servers.running(cmd, env, wait_path=ready) as (_, process):
                    time.sleep(args.settle if ready else args.settle + 5)
                    rows = [(process.pid, "main process")]
                    rows += [(p, role(p)) for p in servers.descendants(process.pid)]
                    print(label)
                    for pid, what in rows:
                        mb = rss_mb(pid)
                        mark = "ok" if mb <= TARGET_MB else f"over {TARGET_MB} MB"
                        print(f"  {what:<20} pid {pid:>7}  RSS {mb:6.1f} MB  {mark}")


if __name__ == "__main__":
    main()
