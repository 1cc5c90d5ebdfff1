"""orders remember the CA purchase they complete, its key algorithms, a registration number

Revision ID: 0002_purchase_ref
Revises: 0004_list_indexes
Create Date: 2026-11-30 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_purchase_ref"
down_revision = "0004_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purchase_ref", sa.String(length=128), nullable=True))
        batch_op.add_column(
            sa.Column("purchase_key_algorithms", sa.String(length=128), nullable=True)
        )
        batch_op.add_column(sa.Column("registration_number", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_purchase_ref"), ["purchase_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_purchase_ref"))
        batch_op.drop_column("registration_number")
        batch_op.drop_column("purchase_key_algorithms")
        batch_op.drop_column("purchase_ref")
