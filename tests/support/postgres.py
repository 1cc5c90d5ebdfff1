"""A throwaway PostgreSQL cluster for the tests (initdb + pg_ctl, trust auth, loopback only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.devtools.ports import free_port

BIN_DIRS = [
    Path(p)
    for p in (
        "/usr/lib/postgresql/17/bin",
        "/usr/lib/postgresql/16/bin",
        "/usr/lib/postgresql/15/bin",
    )
]


def find_bin() -> Path | None:
    """Where initdb and pg_ctl live, if PostgreSQL is installed."""
    for directory in BIN_DIRS:
        if (directory / "initdb").exists():
            return directory
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Start a cluster, yield a SQLAlchemy URL to its `certdesk` database, then remove it."""
    bin_dir = find_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (initdb not found); .ci/run installs it")
    root = Path(tempfile.mkdtemp(prefix="certdesk-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, user="postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    try:
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "certdesk",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        # The port is chosen just before it is bound, and chosen again if another process
        # (the other test worker) took it meanwhile.
        for _ in range(3):
            port = free_port()
            started = subprocess.run(
                [
                    *as_user,
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-w",
                    "-l",
                    str(root / "log"),
                    "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start",
                ],
                capture_output=True,
                text=True,
            )
            if started.returncode == 0:
                break
        else:
            log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{started.stderr}\n{log}")
        subprocess.run(
            [
                *as_user,
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "certdesk",
                "certdesk",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://certdesk@127.0.0.1:{port}/certdesk"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def empty_database(url: str) -> str:
    """Drop everything in the database at ``url`` (a fresh public schema); return ``url``."""
    from sqlalchemy import text

    from storage import db

    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def stop_server(url: str) -> None:
    """Stop the server behind ``url`` (fast shutdown), as an outage would: asked for its
    data directory, then ``pg_ctl stop``. Its ``postgres_cluster`` still cleans up after."""
    from sqlalchemy import text

    from storage import db

    engine = db.make_engine(url)
    with engine.connect() as connection:
        data = connection.execute(text("SELECT current_setting('data_directory')")).scalar_one()
    engine.dispose()
    bin_dir = find_bin()
    assert bin_dir is not None
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(
        [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
        check=True,
        capture_output=True,
    )
