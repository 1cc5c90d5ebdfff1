"""Whether the schema is current, read without Alembic, agrees with Alembic's own answers."""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage import db


def _alembic_current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_head_is_alembics_head() -> None:
    config = db.alembic_config(db.make_engine("sqlite://"))
    assert db.head_revision() == ScriptDirectory.from_config(config).get_current_head()
    assert db.head_revision() is not None


def test_current_is_alembics_current_at_every_step(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        assert db.current_revision(engine) is None and _alembic_current(engine) is None
        script = ScriptDirectory.from_config(db.alembic_config(engine))
        for revision in reversed([s.revision for s in script.walk_revisions()]):
            db.upgrade(engine, revision)
            assert db.current_revision(engine) == _alembic_current(engine) == revision
        assert db.current_revision(engine) == db.head_revision()
        db.upgrade(engine)  # at head already: nothing to do
        assert db.current_revision(engine) == db.head_revision()
    finally:
        engine.dispose()
