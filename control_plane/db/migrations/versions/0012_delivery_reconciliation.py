"""What a ledger row becomes if the answer did not reach the client whole: the response body bytes the
sidecar handed to Envoy, and the completion and cost of what went through (plugins.deliveries).

Nullable, without a default: rows from before are never corrected, and adding the columns rewrites
nothing.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = ("body_bytes", "cut_completion_tokens", "cut_cost_nanos")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("usage_events", sa.Column(name, sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        for name in COLUMNS:
            batch.drop_column(name)
