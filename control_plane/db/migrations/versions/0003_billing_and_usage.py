"""Billing: Stripe customers and subscriptions, applied Stripe events, payment failures, tier
history and finalized invoices. Usage reports need no table of their own: they read the ledger
through ix_usage_events_account_id_created_at (0002).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _account_fk(**kwargs) -> sa.Column:
    return sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"),
                     nullable=False, **kwargs)


def upgrade() -> None:
    op.create_table(
        "billing_accounts",
        _account_fk(primary_key=True),
        sa.Column("stripe_customer_id", sa.String(255), nullable=True, unique=True),
        sa.Column("stripe_subscription_id", sa.String(255), nullable=True),
        sa.Column("subscription_status", sa.String(40), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_table(
        "payment_failures",
        sa.Column("id", sa.String(40), primary_key=True),
        _account_fk(),
        sa.Column("stripe_event_id", sa.String(255), nullable=False),
        sa.Column("stripe_invoice_id", sa.String(255), nullable=False),
        sa.Column("stripe_subscription_id", sa.String(255), nullable=True),
        sa.Column("amount_due", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_payment_failures_account_id", "payment_failures", ["account_id"])
    op.create_table(
        "tier_changes",
        sa.Column("id", sa.String(40), primary_key=True),
        _account_fk(),
        sa.Column("from_tier", sa.String(20), nullable=False),
        sa.Column("to_tier", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(60), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
    )
    op.create_index("ix_tier_changes_account_id_changed_at", "tier_changes", ["account_id", "changed_at"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(40), primary_key=True),
        _account_fk(),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("subscription_nanos", sa.BigInteger, nullable=False),
        sa.Column("finalized_at", TS, nullable=False),
        sa.UniqueConstraint("account_id", "period", name="uq_invoices_account_id_period"),
    )


def downgrade() -> None:
    for table in ("invoices", "tier_changes", "payment_failures", "stripe_events", "billing_accounts"):
        op.drop_table(table)
