"""Which ledger rows count toward a tier's monthly token quota: the pool's.

Tokens sent with the account's own provider key (BYOK) are billed to the account by the provider, so
the quota never counts them: not when reserving (plugins.quota), not when a lost counter is rebuilt
from the ledger (plugins.quota_store), not in GET /v1/usage, not for the quota webhooks.
"""
import sqlalchemy as sa

from schemas.tables import usage_events


def counts_toward_quota() -> sa.ColumnElement[bool]:
    return usage_events.c.key_source == "pool"
