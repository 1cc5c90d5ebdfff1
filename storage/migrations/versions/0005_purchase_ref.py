"""orders remember the CA purchase they complete, its key algorithms, a registration number

Revision ID: 0005_purchase_ref
Revises: 0004_list_indexes
Create Date: 2026-11-30 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_purchase_ref"
down_revision = "0004_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX: SQLite keeps the table instead of copying it. Text,
    # not String(n): SQLite sizes rows by declared lengths, and a wider orders row tips its
    # planner off the (team_id, id) index for the team's order list.
    op.add_column("orders", sa.Column("purchase_ref", sa.Text(), nullable=True))
    op.add_column("orders", sa.Column("purchase_key_algorithms", sa.Text(), nullable=True))
    op.add_column("orders", sa.Column("registration_number", sa.Text(), nullable=True))
    op.create_index(op.f("ix_orders_purchase_ref"), "orders", ["purchase_ref"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_purchase_ref"), table_name="orders")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("registration_number")
        batch_op.drop_column("purchase_key_algorithms")
        batch_op.drop_column("purchase_ref")
