"""Monthly invoices derived from the ledger: one per month from the account's first month on.

The current month is a draft. A closed month is finalized the first time anyone lists the
invoices after it ended, or when the usage charger (usage_charges.py) closes the month: its tier
(the highest-priced one held during the month), that tier's subscription price and how it bills
usage are fixed then, and invoice.created is emitted in the same transaction, once per month
thanks to the unique (account_id, period). The usage lines are always the ledger's.

The amounts: `usage_usd` is the ledger's cost of the month, to the nano-dollar. `amount_due_usd`
is what Stripe charges for it: the subscription, plus, on a metered tier, the usage rounded to
the cent (once charged, the amount that was charged). `total_usd` is `amount_due_usd` under its
older name.
"""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane import clock
from control_plane.billing import tiers as tier_history
from control_plane.billing.config import METERED, NANOS_PER_CENT, Billing, to_cents
from control_plane.db.upsert import insert_for
from control_plane.ids import new_id
from control_plane.usage import report
from control_plane.usage.periods import MONTH, month_name, months_between, next_month
from control_plane.webhooks.events import emit
from schemas.pricing import format_usd
from schemas.tables import invoices


def amount_due_nanos(month: dict, usage_nanos: int) -> int:
    """`month`: an invoice row, or a draft's terms (tier, subscription_nanos, usage_billing)."""
    if month["usage_billing"] != METERED:
        return month["subscription_nanos"]
    charged = month.get("usage_charge_cents")
    return month["subscription_nanos"] + (to_cents(usage_nanos) if charged is None else charged) * NANOS_PER_CENT


def _view(start: datetime, lines: dict, month: dict) -> dict:
    usage = report.Totals()
    for totals in lines.values():
        usage.add(totals)
    final = month.get("id") is not None
    due = format_usd(amount_due_nanos(month, usage.cost_nanos))
    return {"id": month.get("id"), "object": "invoice", "status": "final" if final else "draft",
            "period": month_name(start), "period_start": clock.iso(start), "period_end": clock.iso(next_month(start)),
            "tier": month["tier"], "currency": "usd", "usage_billing": month["usage_billing"],
            "subscription_usd": format_usd(month["subscription_nanos"]), "usage_usd": format_usd(usage.cost_nanos),
            "amount_due_usd": due, "total_usd": due,
            "lines": [{"model": model, **lines[model].view()} for model in sorted(lines)],
            "usage": usage.view(), "finalized_at": clock.iso(month["finalized_at"]) if final else None}


def _terms(billing: Billing, changes: list, current: str, start: datetime) -> dict:
    """The month's tier (of equals, the first: the one held at the start), its price and usage billing."""
    tier = max(tier_history.held_during(changes, current, start, next_month(start)), key=billing.monthly_nanos)
    return {"tier": tier, "subscription_nanos": billing.monthly_nanos(tier),
            "usage_billing": billing.usage_billing(tier)}


async def _months(conn: AsyncConnection, account, now: datetime) -> list[datetime]:
    first_use = await report.first_use(conn, account.id)
    first = min(clock.as_utc(account.created_at), clock.as_utc(first_use) if first_use else now)
    return months_between(first, now)


async def _finals(conn: AsyncConnection, account_id: str) -> dict[str, dict]:
    rows = (await conn.execute(sa.select(invoices).where(invoices.c.account_id == account_id))).all()
    return {row.period: dict(row._mapping) for row in rows}


async def _finalize(conn: AsyncConnection, account_id: str, start: datetime, terms: dict, lines: dict) -> None:
    final = {"id": new_id("inv"), "account_id": account_id, "period": month_name(start), **terms,
             "finalized_at": clock.now()}
    inserted = await conn.execute(insert_for(conn, invoices).values(**final)
                                  .on_conflict_do_nothing(index_elements=["account_id", "period"]))
    if inserted.rowcount == 1:  # else a concurrent request finalized it first, and emitted
        await emit(conn, account_id, "invoice.created", _view(start, lines, final))


async def _finalize_closed(conn: AsyncConnection, account, billing: Billing, months: list, usage: dict,
                           changes: list) -> dict[str, dict]:
    """Finalizes every closed month not finalized yet; the account's final invoices by period."""
    finals = await _finals(conn, account.id)
    unfinalized = [start for start in months[:-1] if month_name(start) not in finals]
    for start in unfinalized:
        terms = _terms(billing, changes, account.tier, start)
        await _finalize(conn, account.id, start, terms, usage.get(month_name(start), {}))
    return await _finals(conn, account.id) if unfinalized else finals


async def _history(conn: AsyncConnection, account) -> tuple[list, dict, list]:
    """The account's months (oldest first, this one last), the ledger's usage by month and model,
    and its tier changes."""
    months = await _months(conn, account, clock.now())
    usage = await report.by_period_and_model(conn, account.id, months[0], next_month(months[-1]), MONTH)
    return months, usage, await tier_history.history(conn, account.id)


async def finalize_closed_months(conn: AsyncConnection, account, billing: Billing) -> None:
    """What listing the invoices does to closed months, without the listing. Inside a transaction."""
    await _finalize_closed(conn, account, billing, *await _history(conn, account))


async def list_invoices(conn: AsyncConnection, account, billing: Billing) -> list[dict]:
    """Newest first. Call it inside a transaction: finalizing a closed month writes."""
    months, usage, changes = await _history(conn, account)
    finals = await _finalize_closed(conn, account, billing, months, usage, changes)
    draft = _terms(billing, changes, account.tier, months[-1])
    views = [_view(months[-1], usage.get(month_name(months[-1]), {}), draft)]
    for start in reversed(months[:-1]):
        views.append(_view(start, usage.get(month_name(start), {}), finals[month_name(start)]))
    return views
