"""certdesk's files stay private: the data directory 0700, databases, mail and keys 0600."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

_UMASK_LOCK = threading.Lock()
#: Files under the data directory that hold people's data or secrets, by glob.
_PRIVATE_GLOBS = (
    "*.sqlite3",
    "*.sqlite3-wal",
    "*.sqlite3-shm",
    "*.key",
    "mail",
    "mail/*",
    "mail/*/*",
    "simulated-ca",
    "simulated-ca/*.key",
)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) with the leaf directory 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def make_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (an existing file keeps its mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created inside are 0600 and directories 0700, whatever the process umask.

    For libraries that create files themselves (the Maildir). The umask is process-wide:
    another thread creating a file meanwhile also gets private modes, which is harmless.
    """
    with _UMASK_LOCK:
        previous = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(previous)


def loose_files(data_dir: Path) -> list[tuple[Path, int]]:
    """Private paths under ``data_dir`` (and the directory itself) that others may read."""
    found: list[tuple[Path, int]] = []
    candidates = [data_dir, *(p for glob in _PRIVATE_GLOBS for p in sorted(data_dir.glob(glob)))]
    for path in candidates:
        try:
            mode = stat.S_IMODE(path.lstat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            found.append((path, mode))
    return found


def warn_if_loose(data_dir: Path, *, extra: tuple[Path, ...] = ()) -> list[tuple[Path, int]]:
    """Log one line naming files others can read (an operator loosened them); return them."""
    found = loose_files(data_dir)
    for path in extra:
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                found.append((path, mode))
    if found:
        shown = ", ".join(f"{_short(p, data_dir)} ({m:04o})" for p, m in found[:4])
        more = f" and {len(found) - 4} more" if len(found) > 4 else ""
        logger.warning(
            "private files are readable by others: %s%s; run chmod go= on them", shown, more
        )
    return found


def _short(path: Path, data_dir: Path) -> str:
    try:
        return str(path.relative_to(data_dir.parent))
    except ValueError:
        return path.name
