"""Monthly invoices derived from the ledger: one per month from the account's first month on.

The current month is a draft. A closed month is finalized the first time anyone lists the
invoices after it ended: its tier (the highest-priced one held during the month) and that tier's
subscription price are fixed then, and invoice.created is emitted in the same transaction, once
per month thanks to the unique (account_id, period). The usage lines are always the ledger's.
"""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.billing import tiers as tier_history
from control_plane.billing.config import Billing
from control_plane.db.upsert import insert_for
from control_plane.ids import new_id
from control_plane.usage import report
from control_plane.usage.periods import MONTH, month_name, months_between, next_month
from control_plane.webhooks.events import emit
from schemas.pricing import format_usd
from schemas.tables import invoices


def _view(start: datetime, lines: dict, tier: str, subscription_nanos: int, final: dict | None = None) -> dict:
    usage = report.Totals()
    for totals in lines.values():
        usage.add(totals)
    return {"id": final["id"] if final else None, "object": "invoice", "status": "final" if final else "draft",
            "period": month_name(start), "period_start": clock.iso(start), "period_end": clock.iso(next_month(start)),
            "tier": tier, "currency": "usd", "subscription_usd": format_usd(subscription_nanos),
            "lines": [{"model": model, **lines[model].view()} for model in sorted(lines)],
            "usage": usage.view(), "total_usd": format_usd(subscription_nanos + usage.cost_nanos),
            "finalized_at": clock.iso(final["finalized_at"]) if final else None}


def _tier_of_month(billing: Billing, changes: list, current: str, start: datetime) -> str:
    held = tier_history.held_during(changes, current, start, next_month(start))
    return max(held, key=billing.monthly_nanos)  # of equals, the first: the one held at the start


async def _months(conn: AsyncConnection, account, now: datetime) -> list[datetime]:
    first_use = await report.first_use(conn, account.id)
    first = min(clock.as_utc(account.created_at), clock.as_utc(first_use) if first_use else now)
    return months_between(first, now)


async def _finals(conn: AsyncConnection, account_id: str) -> dict[str, dict]:
    rows = (await conn.execute(sa.select(invoices).where(invoices.c.account_id == account_id))).all()
    return {row.period: dict(row._mapping) for row in rows}


async def _finalize(conn: AsyncConnection, account_id: str, start: datetime, tier: str, nanos: int,
                    lines: dict) -> None:
    final = {"id": new_id("inv"), "account_id": account_id, "period": month_name(start), "tier": tier,
             "subscription_nanos": nanos, "finalized_at": clock.now()}
    inserted = await conn.execute(insert_for(conn, invoices).values(**final)
                                  .on_conflict_do_nothing(index_elements=["account_id", "period"]))
    if inserted.rowcount == 1:  # else a concurrent request finalized it first, and emitted
        await emit(conn, account_id, "invoice.created", _view(start, lines, tier, nanos, final))


async def list_invoices(conn: AsyncConnection, account, billing: Billing) -> list[dict]:
    """Newest first. Call it inside a transaction: finalizing a closed month writes."""
    months = await _months(conn, account, clock.now())
    usage = await report.by_period_and_model(conn, account.id, months[0], next_month(months[-1]), MONTH)
    changes, finals = await tier_history.history(conn, account.id), await _finals(conn, account.id)
    unfinalized = [start for start in months[:-1] if month_name(start) not in finals]
    for start in unfinalized:
        tier = _tier_of_month(billing, changes, account.tier, start)
        await _finalize(conn, account.id, start, tier, billing.monthly_nanos(tier), usage.get(month_name(start), {}))
    if unfinalized:
        finals = await _finals(conn, account.id)
    draft_tier = _tier_of_month(billing, changes, account.tier, months[-1])
    views = [_view(months[-1], usage.get(month_name(months[-1]), {}), draft_tier, billing.monthly_nanos(draft_tier))]
    for start in reversed(months[:-1]):
        final = finals[month_name(start)]
        views.append(_view(start, usage.get(final["period"], {}), final["tier"], final["subscription_nanos"], final))
    return views
