"""Correct a ledger row to what Envoy delivered: once, whichever of the row and the log line came first.

The row is read, judged (plugins.deliveries.corrected_status) and updated only if its status is still
the one it was judged by: a second correction of the same request (the log read again after a
restart, the same line twice) finds it changed and does nothing, so the quota and spend counters are
moved at most once, by what the update changed.
"""
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from plugins.deliveries import Delivery, corrected_status
from schemas.tables import usage_events as ue

MISSING, DELIVERED, CORRECTED = "missing", "delivered", "corrected"
_COLUMNS = (ue.c.status, ue.c.body_bytes, ue.c.prompt_tokens, ue.c.total_tokens, ue.c.cost_nanos,
            ue.c.cut_completion_tokens, ue.c.cut_cost_nanos, ue.c.account_id, ue.c.key_id, ue.c.key_source,
            ue.c.created_at)


@dataclass(frozen=True)
class Change:
    """What a correction took off the row: the counters settle by the same amounts."""
    status: int  # the row's status now
    account_id: str
    key_id: str
    key_source: str
    created_at: datetime
    tokens: int  # the change of total_tokens (negative: fewer)
    nanos: int   # the change of cost_nanos


async def correct(engine: AsyncEngine, delivery: Delivery) -> tuple[str, Change | None]:
    """(MISSING, None) while the ledger has no row for the request; (DELIVERED, None) when the row
    already says what the client got; (CORRECTED, change) once it was corrected here."""
    async with engine.begin() as conn:
        row = (await conn.execute(sa.select(*_COLUMNS).where(ue.c.request_id == delivery.request_id))).first()
        if row is None:
            return MISSING, None
        status = corrected_status(row.status, row.body_bytes, delivery)
        if status is None or row.cut_cost_nanos is None or row.cut_completion_tokens is None:
            return DELIVERED, None
        total = row.prompt_tokens + row.cut_completion_tokens
        updated = await conn.execute(
            sa.update(ue).where(ue.c.request_id == delivery.request_id, ue.c.status == row.status)
            .values(status=status, completion_tokens=row.cut_completion_tokens, total_tokens=total,
                    cost_nanos=row.cut_cost_nanos))
        if updated.rowcount != 1:  # corrected meanwhile, by another reader of the same line
            return DELIVERED, None
    return CORRECTED, Change(status, row.account_id, row.key_id, row.key_source, row.created_at,
                             total - row.total_tokens, row.cut_cost_nanos - row.cost_nanos)
