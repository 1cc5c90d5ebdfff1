"""workspace tokens are stored sealed: their columns take the longer sealed text

Revision ID: 0007_sealed_tokens
Revises: 0006_installations
Create Date: 2026-11-30 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_sealed_tokens"
down_revision = "0006_installations"
branch_labels = None
depends_on = None

#: The token columns of slack-sdk's tables; sealing adds ~40 characters and a third (base64).
_TOKENS = {
    "slack_bots": ("bot_token", "bot_refresh_token"),
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite does not enforce declared lengths: no table copy for nothing
    for table, columns in _TOKENS.items():
        for name in columns:
            op.alter_column(table, name, type_=sa.Text(), existing_type=sa.String(length=200))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, columns in _TOKENS.items():
        for name in columns:
            op.alter_column(table, name, type_=sa.String(length=200), existing_type=sa.Text())
