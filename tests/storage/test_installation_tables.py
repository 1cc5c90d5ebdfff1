"""Migration 0003 creates exactly the tables slack-sdk's SQLAlchemy OAuth stores use."""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, inspect

from storage.db import FOREIGN_TABLES


def _library_tables(engine: Engine) -> dict[str, dict[str, tuple[str, bool]]]:
    stores = (
        SQLAlchemyInstallationStore(client_id="1.2", engine=engine).metadata,
        SQLAlchemyOAuthStateStore(expiration_seconds=60, engine=engine).metadata,
    )
    return {
        table.name: {c.name: (type(c.type).__name__, bool(c.nullable)) for c in table.columns}
        for metadata in stores
        for table in metadata.tables.values()
    }


def test_migration_matches_slack_sdk_stores(engine: Engine) -> None:
    """Same tables, columns, nullability and indexes as the library defines (no create_tables)."""
    wanted = _library_tables(engine)
    assert set(wanted) <= FOREIGN_TABLES
    found = inspect(engine)
    for name, columns in wanted.items():
        have = {c["name"]: c for c in found.get_columns(name)}
        assert set(have) == set(columns), name
        for column, (_type, nullable) in columns.items():
            assert bool(have[column]["nullable"]) == nullable, (name, column)
    indexes = {i["name"] for t in wanted for i in found.get_indexes(t)}
    assert {"slack_bots_idx", "slack_installations_idx"} <= indexes


def test_stores_work_on_the_migrated_database(engine: Engine) -> None:
    """A save and a find through slack-sdk's store, on both SQLite and PostgreSQL."""
    from slack_sdk.oauth.installation_store.models.installation import Installation

    store = SQLAlchemyInstallationStore(client_id="1.2", engine=engine)
    store.save(
        Installation(
            app_id="A1", team_id="T9", user_id="U9", bot_token="xoxb-9", bot_id="B9",
            bot_user_id="UB9", bot_refresh_token="xoxe-9", bot_token_expires_in=3600,
        )
    )  # fmt: skip
    found = store.find_installation(enterprise_id=None, team_id="T9")
    assert found is not None and found.bot_token == "xoxb-9"
    assert found.bot_token_expires_at is not None
    state = SQLAlchemyOAuthStateStore(expiration_seconds=60, engine=engine)
    issued = state.issue()
    assert state.consume(issued) and not state.consume(issued)
