"""Prometheus metrics of billing."""
from prometheus_client import Counter

WEBHOOK_EVENTS = Counter("clew_billing_webhook_events_total", "Stripe webhook deliveries, by outcome", ["result"])
TIER_CHANGES = Counter("clew_billing_tier_changes_total", "Tier changes, by what caused them", ["reason"])
for _result in ("applied", "duplicate", "ignored", "rejected"):
    WEBHOOK_EVENTS.labels(_result)
USAGE_CHARGES = Counter("clew_billing_usage_charges_total",
                        "Metered months' usage charged at Stripe, by outcome (a failed one is retried)", ["result"])
for _result in ("charged", "failed"):
    USAGE_CHARGES.labels(_result)
