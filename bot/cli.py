"""The `certdesk` command: serve, worker, emulator, demo, db, backup, audit, keys.

Each subcommand imports what it runs inside its own function, on purpose: `serve --workers`
forks gunicorn workers from this process, whose arbiter should not carry the whole app
(about 40 MB instead of 80 MB), and `certdesk --help` or a bad setting answers at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from bot import logs
from bot.config import Settings
from bot.errors import ConfigError, Error

logger = logging.getLogger("certdesk")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except Error as exc:
        print(f"certdesk: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        # The database named by DATABASE_URL (or the data dir's SQLite file) is unreachable.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        print(f"certdesk: DATABASE_URL: cannot use the database: {reason}", file=sys.stderr)
        return 2

    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="certdesk", description=__doc__)
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="serve Slack's request URL (and run the scheduler)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--socket", action="store_true", help="use Socket Mode (SLACK_APP_TOKEN)")
    serve.add_argument("--no-scheduler", action="store_true", help="leave scheduling to a worker")
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        metavar="N",
        help="HTTP worker processes (N > 1: gunicorn, with one scheduler process beside them)",
    )
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="run the scheduler alone (no Slack endpoint)")
    worker.add_argument("--metrics-host", default="0.0.0.0")
    worker.add_argument(
        "--metrics-port", type=int, help="serve GET /metrics on this port (serve has its own)"
    )
    worker.set_defaults(run=_worker)

    emulator = commands.add_parser("emulator", help="run the local Slack Web API emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=3001)
    emulator.add_argument("--token", default="xoxb-emulator-token")
    emulator.add_argument("--signing-secret", default="emulator-signing-secret")
    emulator.add_argument("--request-url", default="http://127.0.0.1:3000/slack/events")
    emulator.add_argument("--app-token", default="xapp-1-A0001-1-emulator")
    emulator.add_argument(
        "--socket", action="store_true", help="act as people over Socket Mode, not --request-url"
    )
    emulator.set_defaults(run=_emulator)

    demo = commands.add_parser("demo", help="walk through the whole journey offline")
    demo.add_argument("--data-dir", help="keep the demo's data here (default: a temp dir)")
    demo.add_argument(
        "--ca",
        choices=("simulated", "acme", "aliyun"),
        default="simulated",
        help="the CA to run against (acme starts a local Pebble, Debian package pebble; "
        "aliyun a local stand-in of Alibaba Cloud's certificate API)",
    )
    demo.set_defaults(run=_demo)

    database = commands.add_parser("db", help="database schema")
    db_commands = database.add_subparsers(title="db commands")
    upgrade = db_commands.add_parser("upgrade", help="apply migrations")
    upgrade.set_defaults(run=_db_upgrade)
    current = db_commands.add_parser("current", help="print the schema revision")
    current.set_defaults(run=_db_current)

    backup = commands.add_parser(
        "backup", help="copy the SQLite store to FILE while certdesk runs (PostgreSQL: pg_dump)"
    )
    backup.add_argument("file", help="where to write the copy (created with mode 0600)")
    backup.set_defaults(run=_backup)

    audit = commands.add_parser("audit", help="print an order's audit trail")
    audit.add_argument("order", help="order ID, e.g. CD-0042")
    audit.set_defaults(run=_audit)

    workspace = commands.add_parser("workspace", help="workspaces that installed certdesk")
    workspace_commands = workspace.add_subparsers(title="workspace commands")
    purge = workspace_commands.add_parser(
        "purge", help="delete a workspace's orders, keys, organizations and audit (asks first)"
    )
    purge.add_argument("team", help="the workspace's team ID, e.g. T0123ABCD")
    purge.set_defaults(run=_workspace_purge)

    keys = commands.add_parser("keys", help="master key for stored private keys and tokens")
    keys_commands = keys.add_subparsers(title="keys commands")
    rotate = keys_commands.add_parser(
        "rotate",
        help="re-encrypt every stored key under a new master key (stop serve and worker first)",
    )
    rotate.add_argument(
        "--new-key-env",
        metavar="VAR",
        help="with CERTDESK_MASTER_KEY: the environment variable holding the new key",
    )
    rotate.set_defaults(run=_keys_rotate)
    seal = keys_commands.add_parser(
        "seal-tokens",
        help="seal workspace tokens stored in plain by an older release (once every replica "
        "runs this one)",
    )
    seal.set_defaults(run=_keys_seal_tokens)
    return parser


def _settings() -> Settings:
    settings = Settings.load()
    logs.configure(level=settings.log_level, fmt=settings.log_format)
    # Alembic narrates its plugin set-up at INFO on every start; only its problems matter here.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    return settings


def _serve(args: argparse.Namespace) -> int:
    settings = _settings()
    settings.require_slack(socket_mode=args.socket)
    if args.workers > 1:
        if args.socket:
            raise ConfigError("--workers is for the HTTP request URL; Socket Mode runs one process")
        # Not through bot.serve: the arbiter stays small, each worker imports the app itself.
        from bot.serve_workers import serve_workers

        serve_workers(
            settings,
            host=args.host,
            port=args.port,
            workers=args.workers,
            scheduler=not args.no_scheduler,
        )
        return 0
    from bot.serve import serve

    clean = serve(
        settings,
        host=args.host,
        port=args.port,
        socket_mode=args.socket,
        scheduler=not args.no_scheduler,
    )
    if not clean:
        _exit_now()
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _worker(args: argparse.Namespace) -> int:
    from bot.migrating import migrate_apart
    from bot.scheduler import run_worker

    settings = _settings()
    migrate_apart(settings)  # the worker itself never loads Alembic
    if args.metrics_port is not None:
        _serve_worker_metrics(settings, host=args.metrics_host, port=args.metrics_port)
    if not run_worker(settings):
        _exit_now()
    return 0


def _serve_worker_metrics(settings: Settings, *, host: str, port: int) -> None:
    from bot import metrics
    from bot.app import db_timeouts
    from bot.errors import ConfigError
    from storage import db

    # Its own small engine: the metrics thread reads a few aggregates per scrape, no more.
    engine = db.make_engine(settings.database_url, timeouts=db_timeouts(settings), pool_size=1)
    sessions = db.session_factory(engine)
    try:
        metrics.serve_metrics(sessions, host=host, port=port)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"--metrics-port: cannot listen on {host}:{port} ({reason})") from None
    logger.info("certdesk worker: metrics on http://%s:%s/metrics", host, port)


def _exit_now() -> None:
    """Leave at once: work overran the shutdown grace and its claims were handed back, and
    the interpreter would otherwise wait for its threads at exit, without bound."""
    import os

    logging.shutdown()
    os._exit(0)


def _emulator(args: argparse.Namespace) -> int:
    from bot.emulator import serve_forever

    logging.basicConfig(level="INFO")
    serve_forever(
        host=args.host,
        port=args.port,
        token=args.token,
        signing_secret=args.signing_secret,
        request_url=args.request_url,
        app_token=args.app_token,
        socket_mode=args.socket,
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return run_demo(data_dir=args.data_dir, ca=args.ca)


def _db_upgrade(args: argparse.Namespace) -> int:
    from storage import db

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    print(f"database at revision {db.current_revision(engine)}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from storage import db

    engine = db.make_engine(_settings().database_url)
    print(db.current_revision(engine) or "empty (run `certdesk db upgrade`)")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot import backup

    settings = _settings()
    try:
        done = backup.backup_sqlite(settings, Path(args.file))
    except backup.NotSQLite as exc:
        # Nothing was written: say what to do instead, and fail so no script believes it worked.
        print(f"certdesk backup: {exc}", file=sys.stderr)
        return 3
    print(backup.summary(settings, done))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from bot.access import parse_ref
    from storage import db, queries
    from storage.models import format_ref

    settings = _settings()
    order_id = parse_ref(args.order)
    engine = db.make_engine(settings.database_url)
    with db.session_factory(engine).begin() as session:
        events = queries.audit_trail(session, order_id)
        if not events:
            print(f"no audit events for {format_ref(order_id)}", file=sys.stderr)
            return 1
        for event in events:
            detail = " ".join(f"{k}={v}" for k, v in sorted(event.detail.items()))
            print(f"{event.at:%Y-%m-%d %H:%M:%S}Z  {event.actor:<12} {event.action:<24} {detail}")
    return 0


def _workspace_purge(args: argparse.Namespace) -> int:
    from storage import db, workspaces
    from storage.models import Workspace

    settings = _settings()
    team = args.team.strip()
    sessions = db.session_factory(db.make_engine(settings.database_url))
    with sessions.begin() as session:
        found = workspaces.data_of(session, team)
        row = session.get(Workspace, team)
        active = row is not None and row.active
    if active:
        print(
            f"Workspace {team} still has certdesk installed; purge it after it uninstalls.",
            file=sys.stderr,
        )
        return 1
    listed = ", ".join(f"{n} {what}" for what, n in found.items())
    print(f"This deletes workspace {team}'s data for good: {listed}, with their keys.")
    typed = input(f"Type {team} to delete it, anything else to stop: ").strip()
    if typed != team:
        print("Nothing deleted.")
        return 1
    with sessions.begin() as session:
        workspaces.purge(session, team)
    print(f"Deleted workspace {team}'s data: {listed}.")
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    import os

    from bot import keys_rotation
    from bot.errors import ConfigError
    from storage import db

    settings = _settings()
    sessions = db.session_factory(db.make_engine(settings.database_url))
    if settings.master_key:
        if not args.new_key_env:
            raise ConfigError(
                "CERTDESK_MASTER_KEY is set, so give the new key in another variable: "
                'NEW_KEY="$(openssl rand -base64 32)" certdesk keys rotate --new-key-env NEW_KEY'
            )
        new_key = keys_rotation.parse_new_key(args.new_key_env, os.environ.get(args.new_key_env))
        done = keys_rotation.rotate_to(settings, sessions, new_key=new_key)
        after = (
            f"Now set CERTDESK_MASTER_KEY to the value of {args.new_key_env} and start certdesk. "
            "Nothing is sealed under the old key any more; if this run was interrupted, run it "
            "again with the same new key."
        )
    else:
        if args.new_key_env:
            raise ConfigError(
                "--new-key-env is for CERTDESK_MASTER_KEY; the key file rotates itself"
            )
        done = keys_rotation.rotate_key_file(settings, sessions)
        path = keys_rotation.key_file(settings)
        after = (
            f"{path} holds the new key; the old one is kept as {path}.previous for backups made "
            "before now. Back up the new key, then start certdesk."
        )
    print(
        f"Re-encrypted {done.resealed} stored key(s) under master key {done.key_id} "
        f"({done.already} already were); every one opens under it. {after}"
    )
    return 0


def _keys_seal_tokens(_args: argparse.Namespace) -> int:
    from bot import keys_rotation
    from bot.app import build_custody
    from storage import db

    settings = _settings()
    sessions = db.session_factory(db.make_engine(settings.database_url))
    custody = build_custody(settings, sessions=sessions)
    sealed, already = keys_rotation.seal_tokens(sessions, custody, plain_only=True)
    print(
        f"Sealed {sealed} workspace token(s) under master key {custody.current_key_id} "
        f"({already} already were)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
