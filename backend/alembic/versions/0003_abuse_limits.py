"""failed-login counters and running assistant turns (shared by every replica)

Revision ID: 0003_abuse_limits
Revises: 0002_assistant
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_abuse_limits"
down_revision: str | None = "0002_assistant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        # "account:<email>" or "ip:<address>"
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "assistant_turns",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        # A crashed pod never releases its slot: the next turn may take it after this.
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("assistant_turns")
    op.drop_table("login_failures")
