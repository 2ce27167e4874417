"""Platform: telemetry, webhooks and deliveries, marketplace plugins, releases.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _account() -> sa.ForeignKey:
    return sa.ForeignKey("accounts.id", ondelete="CASCADE")


def _webhooks() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), _account(), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("description", sa.String(200), nullable=False, server_default=""),
        sa.Column("secret_encrypted", sa.String(200), nullable=False),
        sa.Column("secret_last4", sa.String(4), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
    )
    op.create_index("ix_webhooks_account_id", "webhooks", ["account_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("webhook_id", sa.String(40), sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_webhook_id", "webhook_deliveries", ["webhook_id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(40), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("succeeded", sa.Boolean, nullable=False),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])
    op.create_table(
        "quota_notifications",
        sa.Column("account_id", sa.String(40), _account(), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("threshold", sa.Integer, primary_key=True),
        sa.Column("created_at", TS, nullable=False),
    )
    # The quota watch asks which accounts used anything in the last few minutes.
    op.create_index("ix_usage_events_created_at", "usage_events", ["created_at"])


def _telemetry() -> None:
    op.create_table(
        "telemetry_instances",
        sa.Column("instance_id", sa.String(36), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("os", sa.String(32), nullable=False),
        sa.Column("arch", sa.String(32), nullable=False),
        sa.Column("ip_hash", sa.String(32), nullable=False),
        sa.Column("pings", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
    )
    op.create_index("ix_telemetry_instances_last_seen_at", "telemetry_instances", ["last_seen_at"])
    op.create_table(
        "telemetry_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("instance_id", sa.String(36), nullable=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("ip_hash", sa.String(32), nullable=False),
        sa.Column("properties", sa.JSON, nullable=False),
    )
    op.create_index("ix_telemetry_events_day_name", "telemetry_events", ["day", "name"])


def _catalog() -> None:
    op.create_table(
        "marketplace_plugins",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("repository", sa.String(500), nullable=False),
        sa.Column("homepage", sa.String(500), nullable=True),
        sa.Column("license", sa.String(64), nullable=True),
        sa.Column("install_command", sa.String(300), nullable=False),
        sa.Column("latest_version", sa.String(64), nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "marketplace_plugin_tags",
        sa.Column("plugin_name", sa.String(64), sa.ForeignKey("marketplace_plugins.name", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("tag", sa.String(32), primary_key=True),
    )
    op.create_index("ix_marketplace_plugin_tags_tag", "marketplace_plugin_tags", ["tag"])
    op.create_table(
        "releases",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("released_on", sa.Date, nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("required", sa.Boolean, nullable=False),
        sa.Column("downloads", sa.JSON, nullable=False),
    )


def upgrade() -> None:
    # Admins may read platform-wide statistics (GET /v1/telemetry/stats).
    op.add_column("accounts", sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()))
    _webhooks()
    _telemetry()
    _catalog()


def downgrade() -> None:
    for table in ("releases", "marketplace_plugin_tags", "marketplace_plugins", "telemetry_events",
                  "telemetry_instances", "quota_notifications", "webhook_attempts", "webhook_deliveries",
                  "webhooks"):
        op.drop_table(table)
    op.drop_index("ix_usage_events_created_at", "usage_events")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("is_admin")
