"""Engines, sessions and schema migrations."""

from __future__ import annotations

import ast
import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

from storage import deadline

try:
    import fcntl
except ImportError:  # not on Windows: one migrating process is then the operator's care
    fcntl = None  # type: ignore[assignment]

MIGRATIONS = Path(__file__).parent / "migrations"
#: Tables in certdesk's database that storage.models does not describe: APScheduler's jobs,
#: and slack-sdk's OAuth installations and state (created by migration 0006_installations).
FOREIGN_TABLES = frozenset(
    {"apscheduler_jobs", "slack_bots", "slack_installations", "slack_oauth_states"}
)


@dataclass(frozen=True)
class Timeouts:
    """How long the engine waits on the database, in seconds (0 = no limit)."""

    #: Establishing a connection (libpq's connect_timeout; 2 s is its minimum).
    connect: float
    #: One statement: PostgreSQL's statement_timeout, and SQLite's busy timeout.
    statement: float
    #: Waiting for a pooled connection when all are in use.
    checkout: float
    #: The pool's liveness check on a connection before handing it out.
    ping: float = 0.5


#: Request paths: Slack wants its answer within 3 s, so the database gets about 2 s of it.
REQUEST = Timeouts(connect=2, statement=2, checkout=2)
#: Background jobs and the worker: nobody is waiting on them, so they may wait longer.
JOBS = Timeouts(connect=5, statement=30, checkout=30, ping=2)
#: Operator commands (migrations, backups): no statement limit, but never hang on connect.
ADMIN = Timeouts(connect=10, statement=0, checkout=30, ping=5)
# A statement the server should have cancelled gets this much longer before the client cuts
# the connection: the server's own timeout answers first whenever the server is alive.
_CLIENT_GRACE = 0.5


def make_engine(url: str, *, timeouts: Timeouts = ADMIN, **kwargs: Any) -> Engine:
    """Create an engine with ``timeouts``; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    postgres = url.startswith("postgresql+psycopg:")
    if postgres:
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("connect_timeout", max(2, round(timeouts.connect)))
        if timeouts.statement:
            milliseconds = round(timeouts.statement * 1000)
            # Keep any options the DATABASE_URL carries (connect_args would replace them).
            given = connect_args.get("options") or make_url(url).query.get("options") or ""
            connect_args["options"] = f"{given} -c statement_timeout={milliseconds}".strip()
        kwargs["connect_args"] = connect_args
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    sqlite_file = url.startswith("sqlite") and not in_memory
    if not in_memory:  # an in-memory SQLite engine has one connection per thread, no queue
        kwargs.setdefault("pool_timeout", timeouts.checkout or None)
    if sqlite_file:
        _private_sqlite_file(url)
        # Room for every thread that reads or writes: the request pool's 8, the reads thread,
        # the background pool's 4 and the scheduler's 4. An overflow connection is opened
        # (PRAGMAs, WAL) and closed again on every use.
        kwargs.setdefault("pool_size", 17)
    # A server's connection can die between uses; a SQLite file's cannot, and the ping would
    # be one more statement on every checkout.
    engine = create_engine(url, pool_pre_ping=not sqlite_file, **kwargs)
    if engine.dialect.name == "sqlite":
        busy = round((timeouts.statement or 30) * 1000)
        event.listen(engine, "connect", lambda conn, _rec: _sqlite_pragmas(conn, busy))
    elif postgres:
        statement = timeouts.statement + _CLIENT_GRACE if timeouts.statement else 0
        if statement:
            deadline.install(engine, statement=statement, ping=timeouts.ping)
    return engine


def sqlite_file(url: str | URL) -> Path | None:
    """The file behind a SQLite URL; None for another database or an in-memory one."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _private_sqlite_file(url: str) -> None:
    """Create the database file 0600 in a 0700 directory before SQLite opens it.

    SQLite would create it with the process umask (often 0644: anyone on the host reads
    applicants and sealed keys); its -wal and -shm files take the database file's mode.
    An existing file keeps its mode: start-up warns if it is loose.
    """
    path = Path(url.split(":///", 1)[-1].split("?", 1)[0])
    if not str(path) or path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process made it first
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


# Alembic (with Mako and Pygments) is ~10 MB resident once imported: it is imported only to
# migrate. Whether the schema is current is read without it, so a process started on a
# current database never loads it.


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at the packaged migrations and this engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (nothing to do, and no Alembic, when it is there)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with _migrating_alone(engine):
        # Another process may have migrated while this one waited for the lock.
        if revision == "head" and current_revision(engine) == head_revision():
            return
        from alembic import command

        command.upgrade(alembic_config(engine), revision)


@contextlib.contextmanager
def _migrating_alone(engine: Engine) -> Iterator[None]:
    """On a SQLite file, one process migrates it at a time (a lock file beside it).

    `serve` and `worker` started together on a new store both found it empty and both ran
    the first migration: the second failed on "table already exists". SQLite's own lock does
    not prevent it, as each reads the schema's version before it writes. PostgreSQL's
    operator runs `certdesk db upgrade` once; no lock there.
    """
    path = sqlite_file(engine.url)
    if path is None or fcntl is None:
        yield
        return
    lock = os.open(f"{path}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield
    finally:
        os.close(lock)


@functools.cache
def head_revision() -> str | None:
    """The newest schema revision this version of certdesk ships.

    Read from the migration scripts' ``revision`` and ``down_revision`` lines, as Alembic
    reads them; ValueError if they do not make one line of history with one head.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        names = _assigned(script, ("revision", "down_revision"))
        if "revision" not in names:
            continue
        revisions.add(str(names["revision"]))
        down = names.get("down_revision")
        parents.update([down] if isinstance(down, str) else list(down or ()))
    heads = revisions - parents
    if len(heads) > 1:
        raise ValueError(f"the migrations have several heads: {sorted(heads)}")
    return heads.pop() if heads else None


def _assigned(script: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """Module-level ``name = <literal>`` assignments of ``names`` in a Python file."""
    found: dict[str, Any] = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id in names and value is not None:
            found[target.id] = ast.literal_eval(value)
    return found


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = list(connection.execute(text("SELECT version_num FROM alembic_version")))
    if len(found) > 1:
        raise ValueError(f"the database is at several revisions: {[r[0] for r in found]}")
    return str(found[0][0]) if found else None
