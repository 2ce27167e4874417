"""Invoices say how their tier bills usage, and record a metered month's usage charge at Stripe: the
amount (fixed before Stripe is called), the Stripe invoice holding it, and when Stripe took it.
Invoices finalized before this were all `included`: Stripe only ever charged their subscription.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEX = "ix_invoices_usage_billing_usage_charged_at"


def upgrade() -> None:
    op.add_column("invoices", sa.Column("usage_billing", sa.String(10), nullable=False, server_default="included"))
    op.add_column("invoices", sa.Column("usage_charge_cents", sa.BigInteger, nullable=True))
    op.add_column("invoices", sa.Column("stripe_usage_invoice_id", sa.String(255), nullable=True))
    op.add_column("invoices", sa.Column("usage_charged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(INDEX, "invoices", ["usage_billing", "usage_charged_at"])


def downgrade() -> None:
    op.drop_index(INDEX, "invoices")
    with op.batch_alter_table("invoices") as batch:
        for name in ("usage_charged_at", "stripe_usage_invoice_id", "usage_charge_cents", "usage_billing"):
            batch.drop_column(name)
