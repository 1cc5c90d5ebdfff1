"""Alembic environment: runs migrations on the engine certdesk hands over."""

from __future__ import annotations

from alembic import context

from storage.db import FOREIGN_TABLES
from storage.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # APScheduler keeps its job table in the same database; it is not ours to migrate.
        # The slack_* tables are slack-sdk's (created by 0006_installations, not modelled).
        include_object=lambda obj, name, kind, reflected, compare_to: (
            not (kind == "table" and name in FOREIGN_TABLES)
        ),
    )
    context.run_migrations()
