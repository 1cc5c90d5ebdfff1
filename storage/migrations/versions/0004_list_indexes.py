"""indexes for paged lists and due-row sweeps; order_domains.reversed_name

Revision ID: 0004_list_indexes
Revises: 0003_state_changed_at
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import PENDING_REMINDER, UNDELETED_FILE, reversed_labels

revision = "0004_list_indexes"
down_revision = "0003_state_changed_at"
branch_labels = None
depends_on = None

_NAME = sa.String(253).with_variant(sa.String(253, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("order_domains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reversed_name", _NAME, nullable=True))
    _fill_reversed_names()
    with op.batch_alter_table("order_domains", schema=None) as batch_op:
        batch_op.alter_column("reversed_name", existing_type=_NAME, nullable=False)
        batch_op.create_index(
            "ix_order_domains_reversed_name", ["reversed_name", "order_id"], unique=False
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_team_id_id", ["team_id", "id"], unique=False)
        batch_op.create_index(
            "ix_orders_team_requester", ["team_id", "requester_id", "id"], unique=False
        )
        batch_op.create_index(
            "ix_orders_team_requester_state",
            ["team_id", "requester_id", "state", "id"],
            unique=False,
        )
        batch_op.create_index("ix_orders_team_state", ["team_id", "state", "id"], unique=False)
        batch_op.create_index(
            "ix_orders_team_state_not_after", ["team_id", "state", "not_after"], unique=False
        )
        batch_op.create_index("ix_orders_state_not_after", ["state", "not_after"], unique=False)
    with op.batch_alter_table("watchers", schema=None) as batch_op:
        batch_op.create_index("ix_watchers_user_order", ["user_id", "order_id"], unique=False)
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reminders_pending_due",
            ["due_at", "id"],
            unique=False,
            sqlite_where=sa.text(PENDING_REMINDER),
            postgresql_where=sa.text(PENDING_REMINDER),
        )
    with op.batch_alter_table("delivered_files", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivered_files_pending_delete",
            ["delete_after"],
            unique=False,
            sqlite_where=sa.text(UNDELETED_FILE),
            postgresql_where=sa.text(UNDELETED_FILE),
        )


def _fill_reversed_names() -> None:
    # Existing names get their reversed form in Python: SQLite has no function for it.
    domains = sa.table(
        "order_domains", sa.column("id", sa.Integer), sa.column("name"), sa.column("reversed_name")
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(domains.c.id, domains.c.name)).all()
    if rows:
        connection.execute(
            domains.update()
            .where(domains.c.id == sa.bindparam("row_id"))
            .values(reversed_name=sa.bindparam("reversed")),
            [{"row_id": i, "reversed": reversed_labels(name)} for i, name in rows],
        )


def downgrade() -> None:
    with op.batch_alter_table("delivered_files", schema=None) as batch_op:
        batch_op.drop_index("ix_delivered_files_pending_delete")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_pending_due")
    with op.batch_alter_table("watchers", schema=None) as batch_op:
        batch_op.drop_index("ix_watchers_user_order")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        for name in (
            "ix_orders_state_not_after",
            "ix_orders_team_state_not_after",
            "ix_orders_team_state",
            "ix_orders_team_requester_state",
            "ix_orders_team_requester",
            "ix_orders_team_id_id",
        ):
            batch_op.drop_index(name)
    with op.batch_alter_table("order_domains", schema=None) as batch_op:
        batch_op.drop_index("ix_order_domains_reversed_name")
        batch_op.drop_column("reversed_name")
