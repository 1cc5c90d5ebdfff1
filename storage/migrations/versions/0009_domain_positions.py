"""order_domains: an index on (order_id, position) in place of the one on order_id

A list shows each order's first five names in the order typed. With only an index on
order_id, the database read and sorted all of an order's names to find them (250 on the
largest orders); this index gives them in order. It also serves every look-up by order_id,
so the index on order_id alone goes.

Revision ID: 0009_domain_positions
Revises: 0008_deliveries
Create Date: 2026-11-30 22:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0009_domain_positions"
down_revision = "0008_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("order_domains", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_domains_order_position", ["order_id", "position"], unique=False
        )
        batch_op.drop_index("ix_order_domains_order_id")


def downgrade() -> None:
    with op.batch_alter_table("order_domains", schema=None) as batch_op:
        batch_op.create_index("ix_order_domains_order_id", ["order_id"], unique=False)
        batch_op.drop_index("ix_order_domains_order_position")
