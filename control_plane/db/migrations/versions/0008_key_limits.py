"""Limits of a key's own (models, monthly budget, requests per minute, expiry), its last use, and an
account's own monthly spend cap. Every new column is nullable: NULL means "no limit of its own".

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
KEY_COLUMNS = {  # name: type; allowed_models is a JSON list of model ids / patterns
    "allowed_models": sa.Text, "monthly_budget_nanos": sa.BigInteger, "requests_per_minute": sa.Integer,
    "expires_at": TS, "last_used_at": TS,
}


def upgrade() -> None:
    for name, type_ in KEY_COLUMNS.items():
        op.add_column("api_keys", sa.Column(name, type_, nullable=True))
    op.add_column("accounts", sa.Column("spend_cap_nanos", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name in KEY_COLUMNS:
            batch.drop_column(name)
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("spend_cap_nanos")
