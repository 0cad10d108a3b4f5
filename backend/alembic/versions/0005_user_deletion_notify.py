"""deleting a user row revokes its tokens on every replica (NOTIFY token_revocations)

Revision ID: 0005_user_deletion_notify
Revises: 0004_token_version
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_user_deletion_notify"
down_revision: str | None = "0004_token_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A trigger, not application code: an account removed by any path (the API, an operator's SQL) must stop
# authenticating at once, and replicas only learn of it through this notification (services/sessions.py).
# The channel name and payload are what app.services.sessions.parse_revocation reads.


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION notify_user_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('token_revocations', json_build_object('user_id', OLD.id, 'deleted', true)::text);
            RETURN OLD;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER users_deleted_revoke_tokens AFTER DELETE ON users "
        "FOR EACH ROW EXECUTE FUNCTION notify_user_deleted()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS users_deleted_revoke_tokens ON users")
    op.execute("DROP FUNCTION IF EXISTS notify_user_deleted()")
