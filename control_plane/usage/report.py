"""One account's usage, aggregated from the ledger in SQL.

Every query is one range scan of ix_usage_events_account_id_created_at_request_id (account_id = ?
and created_at in [start, end)), grouped in the database; Python only folds the few groups.
"""
from dataclasses import dataclass, fields
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from control_plane.usage.periods import calendar_key
from schemas.pricing import format_usd
from schemas.quota import counts_toward_quota
from schemas.tables import usage_events as ue


@dataclass
class Totals:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_nanos: int = 0
    quota_tokens: int = 0  # the tokens that count toward the tier's quota (BYOK tokens do not)

    def add(self, other: "Totals") -> "Totals":
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def view(self) -> dict:
        return {"requests": self.requests, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "total_tokens": self.total_tokens,
                "cost_usd": format_usd(self.cost_nanos)}


def _sum(column: sa.Column) -> sa.ColumnElement:
    # PostgreSQL sums bigints as numeric (Decimal): exact, and turned back into int below.
    return sa.func.coalesce(sa.func.sum(column), 0)


_SUMS = (sa.func.count(), _sum(ue.c.prompt_tokens), _sum(ue.c.completion_tokens), _sum(ue.c.total_tokens),
         _sum(ue.c.cost_nanos), _sum(sa.case((counts_toward_quota(), ue.c.total_tokens), else_=0)))


def _totals(row) -> Totals:
    return Totals(*(int(value) for value in row[-len(_SUMS):]))


def _window(account_id: str, start: datetime, end: datetime, key_id: str | None = None) -> tuple:
    # One key's rows: the same range scan, on the index that leads with (account_id, key_id).
    key = () if key_id is None else (ue.c.key_id == key_id,)
    return ue.c.account_id == account_id, *key, ue.c.created_at >= start, ue.c.created_at < end


def by_model_query(account_id: str, start: datetime, end: datetime, key_id: str | None = None) -> sa.Select:
    return (sa.select(ue.c.provider, ue.c.model, *_SUMS).where(*_window(account_id, start, end, key_id))
            .group_by(ue.c.provider, ue.c.model))


def by_key_query(account_id: str, start: datetime, end: datetime) -> sa.Select:
    return sa.select(ue.c.key_id, *_SUMS).where(*_window(account_id, start, end)).group_by(ue.c.key_id)


def by_calendar_query(dialect: str, account_id: str, start: datetime, end: datetime, unit: str,
                      *columns: sa.Column) -> sa.Select:
    """Totals per UTC day or month within [start, end), further split by `columns`."""
    key = calendar_key(dialect, ue.c.created_at, unit).label("period")
    return sa.select(key, *columns, *_SUMS).where(*_window(account_id, start, end)).group_by(key, *columns)


async def by_model(conn: AsyncConnection, account_id: str, start: datetime, end: datetime,
                   key_id: str | None = None) -> list:
    """(provider, model, Totals) for each pair used within [start, end), by one key when `key_id` is given."""
    rows = (await conn.execute(by_model_query(account_id, start, end, key_id))).all()
    return [(row.provider, row.model, _totals(row)) for row in rows]


async def by_key(conn: AsyncConnection, account_id: str, start: datetime, end: datetime) -> dict[str, Totals]:
    """key_id ("" for sessions) -> Totals within [start, end): every key's usage in one grouped query."""
    rows = (await conn.execute(by_key_query(account_id, start, end))).all()
    return {row.key_id: _totals(row) for row in rows}


async def by_period_and_model(conn: AsyncConnection, account_id: str, start: datetime, end: datetime,
                              unit: str) -> dict[str, dict[str, Totals]]:
    """Period ('YYYY-MM-DD' for DAY, 'YYYY-MM' for MONTH) -> model -> Totals, for the periods within
    [start, end) that have usage."""
    query = by_calendar_query(conn.dialect.name, account_id, start, end, unit, ue.c.model)
    periods: dict[str, dict[str, Totals]] = {}
    for row in (await conn.execute(query)).all():
        periods.setdefault(row.period, {})[row.model] = _totals(row)
    return periods


def first_use_query(account_id: str) -> sa.Select:
    return sa.select(sa.func.min(ue.c.created_at)).where(ue.c.account_id == account_id)


async def first_use(conn: AsyncConnection, account_id: str) -> datetime | None:
    """When the account's oldest ledger row was written (the first entry of its index range)."""
    return (await conn.execute(first_use_query(account_id))).scalar()
