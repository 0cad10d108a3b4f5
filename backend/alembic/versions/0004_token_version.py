"""per-user token version (logout revokes every token issued before it)

Revision ID: 0004_token_version
Revises: 0003_abuse_limits
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_token_version"
down_revision: str | None = "0003_abuse_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column("users", sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("users", "token_version")
