"""The usage queries on both databases: UTC calendar buckets, and the index they run on.

The query-plan tests load 30,000 ledger rows over 300 accounts and ANALYZE, then read the plan the
database chose by itself (no `enable_seqscan = off`): every usage query must be a range scan of
ix_usage_events_account_id_created_at_request_id, which keeps it proportional to one account's rows
in the window, not to the ledger's size.
"""
import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from control_plane.usage import report
from control_plane.usage.periods import DAY, MONTH
from schemas.tables import usage_events
from tests.support.query_plan import query_plan

INDEX = "ix_usage_events_account_id_created_at_request_id"
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def _row(account: str, at: datetime, tokens: int = 10) -> dict:
    return {"request_id": f"r-{random.getrandbits(64):x}-{at.timestamp()}", "account_id": account, "key_id": "",
            "key_source": "pool", "model": random.choice(["deepseek-v4", "gpt-5.5"]), "provider": "deepseek",
            "prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens, "cost_nanos": tokens,
            "status": 200, "latency_ms": 1, "streamed": False, "created_at": at}


@pytest.fixture
async def loaded(migrated_engine):
    rows = [_row(f"acct_{n % 300}", NOW - timedelta(minutes=17 * n)) for n in range(30_000)]
    async with migrated_engine.begin() as conn:
        for start in range(0, len(rows), 5_000):
            await conn.execute(sa.insert(usage_events), rows[start:start + 5_000])
        await conn.execute(sa.text("ANALYZE"))
    return migrated_engine


def _queries(dialect: str) -> dict:
    start, end = NOW - timedelta(days=30), NOW
    return {"by_model": report.by_model_query("acct_7", start, end),
            "by_day_and_model": report.by_calendar_query(dialect, "acct_7", start, end, DAY, usage_events.c.model),
            "by_month_and_model": report.by_calendar_query(dialect, "acct_7", start, end, MONTH,
                                                           usage_events.c.model),
            "first_use": report.first_use_query("acct_7")}


async def test_every_usage_query_is_a_range_scan_of_the_account_index(loaded):
    async with loaded.connect() as conn:
        for name, query in _queries(conn.dialect.name).items():
            plan = await query_plan(conn, query)
            # PostgreSQL: "Bitmap Index Scan on ix_..." or "Index Only Scan using ix_..."; SQLite: "SEARCH
            # usage_events USING INDEX ix_...". A full scan would read "Seq Scan" / "SCAN usage_events".
            assert INDEX in plan and "Seq Scan" not in plan and "SCAN usage_events" not in plan, f"{name}:\n{plan}"


async def test_days_are_utc_days_whatever_the_session_time_zone(migrated_engine):
    late = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)  # 10 March already in Auckland, still 9 March in UTC
    async with migrated_engine.begin() as conn:
        await conn.execute(sa.insert(usage_events), [_row("acct_tz", late, 5),
                                                     _row("acct_tz", late + timedelta(hours=1), 7)])
    async with migrated_engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SET TIME ZONE 'Pacific/Auckland'"))
        days = await report.by_period_and_model(conn, "acct_tz", datetime(2026, 3, 1, tzinfo=UTC),
                                                datetime(2026, 4, 1, tzinfo=UTC), DAY)
    assert {day: sum(t.total_tokens for t in models.values()) for day, models in days.items()} == {
        "2026-03-09": 5, "2026-03-10": 7}


async def test_months_split_at_the_first_utc_instant(migrated_engine):
    boundary = datetime(2026, 3, 1, tzinfo=UTC)
    async with migrated_engine.begin() as conn:
        await conn.execute(sa.insert(usage_events), [_row("acct_m", boundary - timedelta(microseconds=1), 3),
                                                     _row("acct_m", boundary, 4)])
    async with migrated_engine.connect() as conn:
        months = await report.by_period_and_model(conn, "acct_m", datetime(2026, 1, 1, tzinfo=UTC),
                                                  datetime(2026, 5, 1, tzinfo=UTC), MONTH)
    assert {month: sum(t.total_tokens for t in models.values()) for month, models in months.items()} == {
        "2026-02": 3, "2026-03": 4}
