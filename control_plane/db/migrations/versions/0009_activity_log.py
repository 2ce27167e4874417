"""The activity log (GET /v1/requests): each ledger row's endpoint, and the indexes its pages walk.

(account_id, created_at, request_id) replaces (account_id, created_at): the usage reports range-scan
it the same way, and the activity log's pages follow its order exactly. With the ledger's writes
queued in the usage stream, building an index on a large ledger delays landing and loses nothing.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_INDEX = ("ix_usage_events_account_id_created_at", ["account_id", "created_at"])
NEW_INDEXES = (("ix_usage_events_account_id_created_at_request_id", ["account_id", "created_at", "request_id"]),
               ("ix_usage_events_account_id_key_id_created_at_request_id",
                ["account_id", "key_id", "created_at", "request_id"]))


def upgrade() -> None:
    # The server default fills every existing row: their endpoint was not kept.
    op.add_column("usage_events", sa.Column("endpoint", sa.String(64), nullable=False, server_default=""))
    for name, columns in NEW_INDEXES:
        op.create_index(name, "usage_events", columns)
    op.drop_index(OLD_INDEX[0], "usage_events")


def downgrade() -> None:
    op.create_index(OLD_INDEX[0], "usage_events", OLD_INDEX[1])
    for name, _ in NEW_INDEXES:
        op.drop_index(name, "usage_events")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("endpoint")
