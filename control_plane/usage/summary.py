"""This month's usage of one account: the report GET /v1/usage shows, and the block of it that
GET /v1/auth/me shows. Both come from the same query, so they always agree."""
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.usage import report
from control_plane.usage.periods import month_bounds, month_name


def _grouped(rows: list, index: int) -> list[dict]:
    """Totals per provider (index 0) or per model (index 1), sorted by name."""
    groups: dict[str, report.Totals] = {}
    for row in rows:
        groups.setdefault(row[index], report.Totals()).add(row[2])
    name = ("provider", "model")[index]
    return [{name: key, **groups[key].view()} for key in sorted(groups)]


def _quota(monthly_tokens: int | None, used: int) -> dict:
    remaining = None if monthly_tokens is None else max(monthly_tokens - used, 0)
    return {"monthly_tokens": monthly_tokens, "used_tokens": used, "remaining_tokens": remaining}


def _sum(rows: list) -> report.Totals:
    totals = report.Totals()
    for _, _, group in rows:
        totals.add(group)
    return totals


async def month_report(conn: AsyncConnection, account_id: str, tier: str, monthly_tokens: int | None,
                       key_id: str | None = None) -> dict:
    """Totals, the breakdown by provider and by model, and what is left of the tier's quota. With
    `key_id`, the totals and breakdowns are that key's; the quota stays the account's (keys share it)."""
    now = clock.now()
    start, end = month_bounds(now)
    rows = await report.by_model(conn, account_id, start, end, key_id)
    totals = _sum(rows)
    quota_used = totals.quota_tokens if key_id is None else _sum(
        await report.by_model(conn, account_id, start, end)).quota_tokens
    found = {"object": "usage", "period": month_name(now), "period_start": clock.iso(start),
             "period_end": clock.iso(end), "tier": tier, **totals.view(),
             "quota": _quota(monthly_tokens, quota_used),
             "by_provider": _grouped(rows, 0), "by_model": _grouped(rows, 1)}
    return found if key_id is None else {**found, "key_id": key_id}


async def month_to_date(conn: AsyncConnection, account_id: str) -> dict:
    """The block of month_report that GET /v1/auth/me shows."""
    full = await month_report(conn, account_id, "", None)
    return {key: full[key] for key in ("period", "requests", "prompt_tokens", "completion_tokens",
                                       "total_tokens", "cost_usd")}
