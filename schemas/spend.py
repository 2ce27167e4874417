"""What a key's monthly budget and an account's monthly spend cap count, and what the account's cap is.

Spend is the ledger's `cost_nanos`: what the account is charged for each request, a pool request at
its price and a BYOK one at the platform fee (gateway.yaml `byok.platform_fee_percent`; the provider
bills the account the rest directly). A month is a calendar month, UTC. The sidecar's counters are
rebuilt from this (plugins.spend_store), GET /v1/billing/spend_cap shows it and the spend-cap webhooks
compare it with the cap, so the three always agree.
"""
from datetime import datetime

import sqlalchemy as sa

from schemas.gateway import tier_spend_cap_nanos
from schemas.tables import usage_events


def month_spend(account_id: str, start: datetime, end: datetime, key_id: str | None = None) -> sa.Select:
    """The sum of cost_nanos (0 when none) of the account's rows, or of one key's, in [start, end)."""
    where = [usage_events.c.account_id == account_id, usage_events.c.created_at >= start,
             usage_events.c.created_at < end]
    if key_id is not None:
        where.append(usage_events.c.key_id == key_id)
    return sa.select(sa.func.coalesce(sa.func.sum(usage_events.c.cost_nanos), 0)).where(*where)


def effective_cap_nanos(tier: dict, own_nanos: int | None) -> int | None:
    """The account's monthly cap: the lower of its tier's (gateway.yaml) and its own; None: neither has one."""
    caps = [cap for cap in (tier_spend_cap_nanos(tier), own_nanos) if cap is not None]
    return min(caps) if caps else None
