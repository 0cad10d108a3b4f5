"""signup attempts per client address (shared by every replica)

Revision ID: 0006_signup_attempts
Revises: 0005_user_deletion_notify
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_signup_attempts"
down_revision: str | None = "0005_user_deletion_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signup_attempts",
        # "ip:<address>"
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("signup_attempts")
