"""deliveries: the outbox of DMs, channel notices and files

Every message about an order is now a row written with the change it tells of, so the
per-order "delivery owed" mark (orders.delivery_due_at) is no longer used; it stays one
release for replicas of the previous one.

Revision ID: 0008_deliveries
Revises: 0007_sealed_tokens
Create Date: 2026-11-30 16:30:00
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0008_deliveries"
down_revision = "0007_sealed_tokens"
branch_labels = None
depends_on = None

_PENDING = "due_at IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("what", sa.String(length=40), nullable=False),
        sa.Column("medium", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("refusals", sa.Integer(), nullable=False),
        sa.Column("due_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease", sa.String(length=64), nullable=True),
        sa.Column("in_doubt", sa.Boolean(), nullable=False),
        sa.Column("slack_ref", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_deliveries_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("key", name=op.f("uq_deliveries_key")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_order_id"), ["order_id"], unique=False)
        batch_op.create_index("ix_deliveries_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_deliveries_pending_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text(_PENDING),
            postgresql_where=sa.text(_PENDING),
        )
    # orders.delivery_due_at stays for this release: replicas of the previous one still read
    # and write it during a rolling upgrade (migrations are additive, docs/operations.md).
    _warn_of_owed_notices()


def _warn_of_owed_notices() -> None:
    """Orders still owing a notice under the old scheme cannot be re-worded here (the words
    live in the app, not the schema): name them, so their people can be told by hand."""
    owed = [
        int(row[0])
        for row in op.get_bind().execute(
            sa.text("SELECT id FROM orders WHERE delivery_due_at IS NOT NULL ORDER BY id")
        )
    ]
    if owed:
        shown = ", ".join(f"CD-{order_id:04d}" for order_id in owed[:20])
        logging.getLogger("alembic.runtime.migration").warning(
            "%d order(s) still owed a Slack notice when the outbox replaced the old retry "
            "mark; this release does not send it (a replica of the previous one may, while it "
            "runs): %s%s. `/cert status` shows each one's state.",
            len(owed),
            shown,
            " ..." if len(owed) > 20 else "",
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_created_at")
        batch_op.drop_index("ix_deliveries_pending_due")
        batch_op.drop_index(batch_op.f("ix_deliveries_order_id"))
    op.drop_table("deliveries")
