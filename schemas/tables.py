"""The database schema shared by the control plane (which writes it) and the sidecar (which reads it).

Alembic migrations in control_plane/db/migrations create these tables; this module is the one
description both sides import.
"""
import sqlalchemy as sa

metadata = sa.MetaData()

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("tier", sa.String(20), nullable=False, server_default="free"),
    # Bumped to invalidate every session token issued before (password reset).
    sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # May read platform-wide statistics (GET /v1/telemetry/stats); set by operators in the database.
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    # The account's own monthly spend cap, below its tier's (NULL: the tier's cap, if any, alone).
    sa.Column("spend_cap_nanos", sa.BigInteger, nullable=True),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    # schemas.credentials.KEY_SCOPES: what the key may do besides calling the AI routes.
    sa.Column("scope", sa.String(16), nullable=False, server_default="default"),
    # Limits of the key's own; NULL: none beyond the account's. allowed_models is a JSON list of
    # model ids and patterns (schemas.model_patterns), the budget is in nano-dollars per calendar month.
    sa.Column("allowed_models", sa.Text, nullable=True),
    sa.Column("monthly_budget_nanos", sa.BigInteger, nullable=True),
    sa.Column("requests_per_minute", sa.Integer, nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
)

password_resets = sa.Table(
    "password_resets", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
)

# A single counter row: incrementing it inside a change's transaction takes a row lock, so
# revisions become visible in commit order and a reader polling `revision > last` misses none.
revisions = sa.Table(
    "revisions", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# Each change to an account that cached identities depend on (key revoked, password reset,
# tier changed); sidecars poll it to evict their caches.
account_changes = sa.Table(
    "account_changes", metadata,
    sa.Column("revision", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("account_id", sa.String(40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# The ledger: one row per metered request, written once (request_id is the idempotency key) from
# the usage stream. Redis counters are a cache of it; reports aggregate it by account and month.
usage_events = sa.Table(
    "usage_events", metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(40), nullable=False, server_default=""),
    sa.Column("key_source", sa.String(8), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False),
    sa.Column("total_tokens", sa.BigInteger, nullable=False),
    sa.Column("cost_nanos", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("streamed", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The AI endpoint's path (schemas.internal_api.AI_ENDPOINTS); "" for rows from before it was kept.
    sa.Column("endpoint", sa.String(64), nullable=False, server_default=""),
    # What the row becomes if Envoy's access log shows the answer did not reach the client whole
    # (migration 0012, plugins.deliveries): the response body bytes the sidecar handed to Envoy, and
    # the completion and cost of what went through. NULL in rows from before they were kept.
    sa.Column("body_bytes", sa.BigInteger, nullable=True),
    sa.Column("cut_completion_tokens", sa.BigInteger, nullable=True),
    sa.Column("cut_cost_nanos", sa.BigInteger, nullable=True),
    # One account's rows newest first (reports, the activity log), and one key's: request_id breaks
    # ties between rows of the same instant, so the activity log's pages follow the index's order.
    sa.Index("ix_usage_events_account_id_created_at_request_id", "account_id", "created_at", "request_id"),
    sa.Index("ix_usage_events_account_id_key_id_created_at_request_id", "account_id", "key_id", "created_at",
             "request_id"),
)


# --- billing (migration 0003): Stripe customers and subscriptions, tier history, invoices ---------

# Each account's Stripe side: its customer, and the subscription that pays for its tier (if any).
billing_accounts = sa.Table(
    "billing_accounts", metadata,
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("stripe_customer_id", sa.String(255), nullable=True, unique=True),
    sa.Column("stripe_subscription_id", sa.String(255), nullable=True),
    sa.Column("subscription_status", sa.String(40), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Stripe events already applied: the primary key makes a retried delivery a no-op.
stripe_events = sa.Table(
    "stripe_events", metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# invoice.payment_failed as Stripe reported it; amounts in the currency's minor unit, as Stripe's.
payment_failures = sa.Table(
    "payment_failures", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("stripe_event_id", sa.String(255), nullable=False),
    sa.Column("stripe_invoice_id", sa.String(255), nullable=False),
    sa.Column("stripe_subscription_id", sa.String(255), nullable=True),
    sa.Column("amount_due", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("attempt_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Every tier change, so a past month's invoice names the tier the account held then.
tier_changes = sa.Table(
    "tier_changes", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("from_tier", sa.String(20), nullable=False),
    sa.Column("to_tier", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(60), nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_tier_changes_account_id_changed_at", "account_id", "changed_at"),
)

# A closed month's invoice, fixed when first produced: its tier, subscription price and how the
# tier bills usage. The usage lines are always the ledger's; (account_id, period) being unique emits
# invoice.created once. A metered month's usage charge (migration 0010) is fixed before Stripe is
# asked for it, then the Stripe invoice holding it, then when Stripe took it: a retry finds them.
invoices = sa.Table(
    "invoices", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),  # YYYY-MM
    sa.Column("tier", sa.String(20), nullable=False),
    sa.Column("subscription_nanos", sa.BigInteger, nullable=False),
    sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("usage_billing", sa.String(10), nullable=False, server_default="included"),  # or "metered"
    sa.Column("usage_charge_cents", sa.BigInteger, nullable=True),
    sa.Column("stripe_usage_invoice_id", sa.String(255), nullable=True),
    sa.Column("usage_charged_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("account_id", "period", name="uq_invoices_account_id_period"),
    sa.Index("ix_invoices_usage_billing_usage_charged_at", "usage_billing", "usage_charged_at"),
)


# --- platform (migration 0004): webhooks, telemetry, marketplace, releases ----------------------

_TS = sa.DateTime(timezone=True)
# SQLite only autoincrements an INTEGER PRIMARY KEY.
_SERIAL = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# The quota watch asks which accounts used anything in the last few minutes.
sa.Index("ix_usage_events_created_at", usage_events.c.created_at)

# An account's endpoints. The signing secret is kept encrypted (AES-GCM), not hashed: every
# delivery is signed with it. Deleting sets deleted_at, so the delivery log stays readable.
webhooks = sa.Table(
    "webhooks", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("description", sa.String(200), nullable=False, server_default=""),
    sa.Column("secret_encrypted", sa.String(200), nullable=False),
    sa.Column("secret_last4", sa.String(4), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("deleted_at", _TS, nullable=True),
)

# The durable delivery queue: one row per (event, webhook); the worker claims the due ones.
# status: pending -> delivered | failed (attempts exhausted) | cancelled (webhook deleted).
webhook_deliveries = sa.Table(
    "webhook_deliveries", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("webhook_id", sa.String(40), sa.ForeignKey("webhooks.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("account_id", sa.String(40), nullable=False),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # the exact bytes sent and signed
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", _TS, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("completed_at", _TS, nullable=True),
    sa.Column("last_error", sa.String(300), nullable=True),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

# One row per HTTP attempt of a delivery.
webhook_attempts = sa.Table(
    "webhook_attempts", metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.String(40), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", _TS, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.String(300), nullable=True),
    sa.Column("succeeded", sa.Boolean, nullable=False),
)

# usage.quota_threshold events already emitted: the primary key makes each one exactly-once.
quota_notifications = sa.Table(
    "quota_notifications", metadata,
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),  # YYYY-MM
    sa.Column("threshold", sa.Integer, primary_key=True),  # percent of the monthly quota
    sa.Column("created_at", _TS, nullable=False),
)

# usage.spend_cap_threshold events already emitted (migration 0011): exactly-once, as the quota's.
spend_cap_notifications = sa.Table(
    "spend_cap_notifications", metadata,
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),  # YYYY-MM
    sa.Column("threshold", sa.Integer, primary_key=True),  # percent of the month's spend cap
    sa.Column("created_at", _TS, nullable=False),
)

# CLI instances (anonymous): the latest heartbeat of each. ip_hash is a salted hash, never the IP.
telemetry_instances = sa.Table(
    "telemetry_instances", metadata,
    sa.Column("instance_id", sa.String(36), primary_key=True),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("os", sa.String(32), nullable=False),
    sa.Column("arch", sa.String(32), nullable=False),
    sa.Column("ip_hash", sa.String(32), nullable=False),
    sa.Column("pings", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("first_seen_at", _TS, nullable=False),
    sa.Column("last_seen_at", _TS, nullable=False, index=True),
)

telemetry_events = sa.Table(
    "telemetry_events", metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("instance_id", sa.String(36), nullable=True),
    sa.Column("occurred_at", _TS, nullable=False),
    sa.Column("day", sa.Date, nullable=False),  # occurred_at's UTC date, for per-day counts
    sa.Column("received_at", _TS, nullable=False),
    sa.Column("ip_hash", sa.String(32), nullable=False),
    sa.Column("properties", sa.JSON, nullable=False),
    sa.Index("ix_telemetry_events_day_name", "day", "name"),
)

# The marketplace catalog and the CLI releases: copies of files operators edit
# (control_plane/marketplace/catalog.yaml, control_plane/updates/releases.yaml), synced at start.
marketplace_plugins = sa.Table(
    "marketplace_plugins", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("description", sa.String(1000), nullable=False),
    sa.Column("author", sa.String(100), nullable=False),
    sa.Column("repository", sa.String(500), nullable=False),
    sa.Column("homepage", sa.String(500), nullable=True),
    sa.Column("license", sa.String(64), nullable=True),
    sa.Column("install_command", sa.String(300), nullable=False),
    sa.Column("latest_version", sa.String(64), nullable=False),
    sa.Column("versions", sa.JSON, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

marketplace_plugin_tags = sa.Table(
    "marketplace_plugin_tags", metadata,
    sa.Column("plugin_name", sa.String(64), sa.ForeignKey("marketplace_plugins.name", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("tag", sa.String(32), primary_key=True, index=True),
)

releases = sa.Table(
    "releases", metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("released_on", sa.Date, nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("required", sa.Boolean, nullable=False),
    sa.Column("downloads", sa.JSON, nullable=False),
)


# --- bring your own key (migration 0005) -----------------------------------------------------------

# An account's own key for a provider, sealed with AES-GCM (schemas.sealed_keys): the sidecar must
# send it, so it cannot be a hash. One per (account, provider); storing another replaces it.
provider_keys = sa.Table(
    "provider_keys", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("nonce", sa.LargeBinary(12), nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("last4", sa.String(4), nullable=False),  # "" for keys too short to show any of
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("account_id", "provider", name="uq_provider_keys_account_id_provider"),
)


# --- video generation (migration 0006) -------------------------------------------------------------

# A video generation job: the sidecar creates it when the provider accepts the task and updates it
# as the owner polls. `billed` turns true exactly once, on the first poll that sees it completed:
# that poll alone puts the video's price in the ledger.
video_jobs = sa.Table(
    "video_jobs", metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # vid_…, what the client polls
    sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("provider", sa.String(40), nullable=False),
    sa.Column("task_id", sa.String(100), nullable=False),  # the provider's
    sa.Column("status", sa.String(16), nullable=False),    # queued, in_progress, completed, failed
    sa.Column("file_id", sa.String(100), nullable=True),   # the provider's file, once completed
    sa.Column("error", sa.String(300), nullable=True),     # why it failed, as the provider said
    sa.Column("billed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
