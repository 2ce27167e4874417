"""API key scopes: existing keys keep calling the AI routes and reading, nothing more.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The server default fills every existing row: SQLite and PostgreSQL both add the column in place.
    op.add_column("api_keys", sa.Column("scope", sa.String(16), nullable=False, server_default="default"))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scope")
