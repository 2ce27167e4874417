"""Helpers for the usage and invoice tests: what the ledger holds, once it has landed."""
import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa

from schemas.tables import usage_events as ue


async def landed(db, account_id: str, count: int, timeout: float = 5.0) -> None:
    """Wait until `count` of the account's ledger rows exist (the usage queue lands them)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with db.connect() as conn:
            found = (await conn.execute(sa.select(sa.func.count()).where(ue.c.account_id == account_id))).scalar()
        if found >= count:
            return
        assert loop.time() < deadline, f"only {found} of {count} ledger rows landed"
        await asyncio.sleep(0.05)


async def ledger_sums(db, account_id: str, start: datetime | None = None, end: datetime | None = None,
                      **match) -> dict:
    """The ledger's own sums over the account's rows in [start, end), optionally of one model/provider."""
    where = [ue.c.account_id == account_id, *(ue.c[name] == value for name, value in match.items())]
    where += [ue.c.created_at >= start] if start else []
    where += [ue.c.created_at < end] if end else []
    query = sa.select(sa.func.count(), *(sa.func.coalesce(sa.func.sum(ue.c[name]), 0) for name in
                                         ("prompt_tokens", "completion_tokens", "total_tokens", "cost_nanos")))
    async with db.connect() as conn:
        row = (await conn.execute(query.where(*where))).one()
    return dict(zip(("requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_nanos"),
                    (int(v) for v in row), strict=True))


def month_start(moment: datetime, back: int = 0) -> datetime:
    """The first instant (UTC) of the month `back` months before `moment`'s."""
    year, month = moment.year, moment.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=UTC)
