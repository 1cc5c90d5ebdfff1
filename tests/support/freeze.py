"""Freezing a PostgreSQL cluster (SIGSTOP its postmaster and backends), as a hung host would."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: the fields after it are fixed.
    return int(stat.rsplit(")", 1)[1].split()[1])


def cluster_pids(url: str) -> list[int]:
    """The postmaster on ``url``'s port (as support.postgres starts it) and its children."""
    port = str(urlsplit(url).port)
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    matching = {
        pid
        for pid in pids
        if (args := _cmdline(pid))
        and Path(args[0]).name in ("postgres", "postmaster")
        and "-p" in args
        and args[args.index("-p") + 1 : args.index("-p") + 2] == [port]
    }
    # A backend just forked still shows the postmaster's command line: keep the parent.
    postmasters = [pid for pid in matching if _parent(pid) not in matching]
    if len(postmasters) != 1:
        raise RuntimeError(f"expected one postmaster on port {port}, found {postmasters}")
    master = postmasters[0]
    return [master, *(pid for pid in pids if _parent(pid) == master)]


@contextlib.contextmanager
def frozen(url: str) -> Iterator[list[int]]:
    """Stop every process of the cluster at ``url``; always continue them afterwards."""
    pids = cluster_pids(url)
    stopped: list[int] = []
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield stopped
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
