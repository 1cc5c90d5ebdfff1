"""certdesk's data stays private on disk: directory 0700, database, WAL, SHM, mail and keys 0600."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from support.app_fixtures import ALICE, Running
from support.journeys import complete_and_submit, register

from bot.ca.simulated import mailer
from bot.demo import browser
from bot.orders.polling import poll_order
from bot.private_files import loose_files, warn_if_loose
from storage import db, queries


def ca_ref(certdesk: Running, ref: str) -> str:
    with certdesk.services.sessions.begin() as session:
        order = queries.get_order(session, int(ref[3:]))
        assert order is not None and order.ca_ref
        return order.ca_ref


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The careless default many hosts have: files 0644, directories 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_data_files_are_private_under_an_open_umask(
    start_certdesk,  # noqa: ANN001
    open_umask: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    certdesk: Running = start_certdesk(CERTDESK_SIM_REVIEW_DELAY="0s")
    data_dir = certdesk.services.settings.data_dir
    ref = register(certdesk, ALICE)
    complete_and_submit(certdesk, ALICE, ref)
    certdesk.settle()
    poll_order(certdesk.services, int(ref[3:]))  # the CA writes its verification email

    database = data_dir / "certdesk.sqlite3"
    wal, shm = Path(f"{database}-wal"), Path(f"{database}-shm")
    assert wal.exists() and shm.exists()
    assert mode(data_dir) == 0o700
    for path in (database, wal, shm, data_dir / "master.key"):
        assert mode(path) == 0o600, path
    messages = [p for p in (data_dir / "mail").rglob("*") if p.is_file()]
    assert messages and all(mode(p) == 0o600 for p in messages)
    assert all(mode(p) == 0o700 for p in (data_dir / "mail").rglob("*") if p.is_dir())
    ca_keys = list((data_dir / "simulated-ca").glob("*.key"))
    assert ca_keys and all(mode(p) == 0o600 for p in ca_keys)
    (link,) = mailer.verification_links(data_dir / "mail", ca_ref=ca_ref(certdesk, ref))
    assert browser.open_page(link).form_fields  # the page's form token key is made now
    assert mode(data_dir / "simulated-ca-forms.key") == 0o600
    assert loose_files(data_dir) == []
    assert not [r for r in caplog.records if "readable by others" in r.getMessage()]


def test_a_loosened_file_is_named_in_one_warning_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    engine = db.make_engine(f"sqlite:///{data_dir / 'certdesk.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    assert mode(data_dir) == 0o700 and mode(data_dir / "certdesk.sqlite3") == 0o600
    assert warn_if_loose(data_dir) == []

    (data_dir / "certdesk.sqlite3").chmod(0o644)
    data_dir.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="bot.private_files"):
        found = warn_if_loose(data_dir)
    engine.dispose()
    assert {p.name for p, _ in found} == {"data", "certdesk.sqlite3"}
    (line,) = [r.getMessage() for r in caplog.records if "readable by others" in r.getMessage()]
    assert "certdesk.sqlite3 (0644)" in line and "data (0755)" in line
    assert "\n" not in line and len(line) < 300


def test_start_up_warns_about_a_loosened_database(
    start_certdesk,  # noqa: ANN001
    caplog: pytest.LogCaptureFixture,
) -> None:
    first: Running = start_certdesk()
    data_dir = first.services.settings.data_dir
    (data_dir / "certdesk.sqlite3").chmod(0o640)
    with caplog.at_level(logging.WARNING, logger="bot.private_files"):
        from bot.app import build_services

        services = build_services(first.services.settings)
    services.engine.dispose()
    services.background.shutdown()
    lines = [r.getMessage() for r in caplog.records if "readable by others" in r.getMessage()]
    assert len(lines) == 1 and "certdesk.sqlite3 (0640)" in lines[0]
