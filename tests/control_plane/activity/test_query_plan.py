"""The activity log's page query, as the route issues it, on both databases: each page is one
backward walk of an index, stopped after the page's rows, with no sort over the account's rows.

The ledger is made by one INSERT ... SELECT over a generated series (generate_series on PostgreSQL, a
recursive CTE on SQLite) and ANALYZEd; the plan is then the one the database chose by itself (no
`enable_seqscan = off`). Its shape is a large ledger's: many accounts, none holding more than 1 % of
the rows. (An account holding a larger share may be read through ix_usage_events_created_at instead,
newest first, skipping other accounts' rows: a walk of a few times the page, still no sort.)
"""
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from control_plane.activity.query import Filters, Position, page_query
from tests.support.query_plan import query_plan

ACCOUNT_INDEX = "ix_usage_events_account_id_created_at_request_id"
KEY_INDEX = "ix_usage_events_account_id_key_id_created_at_request_id"
ROWS, ACCOUNTS, KEYS = 20_000, 100, 200
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
SERIES = {"postgresql": ("", "generate_series(1, {count}) AS s(n)"),
          "sqlite": ("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) ", "s")}
CREATED_AT = {"postgresql": "timestamptz '2026-03-15 12:00:00+00' - n * interval '1 minute'",
              "sqlite": "strftime('%Y-%m-%d %H:%M:%S', '2026-03-15 12:00:00', '-' || n || ' minutes') || '.000000'"}
# n in 1..count. Ledger row n: account n % 100, key n % 200 (one of that account's two), one a minute
# before the previous, every 3rd gpt-5.5, every 10th a 429.
TABLES = (
    ("accounts", "id, email, password_hash, created_at", ACCOUNTS,
     "'acct_' || (n - 1), 'a' || n || '@example.com', 'x', {created_at}"),
    ("api_keys", "id, account_id, name, key_hash, prefix, last4, created_at", KEYS,
     "'key_' || (n - 1), 'acct_' || ((n - 1) % {accounts}), 'k', 'h' || n, 'sk-clew-abcd', 'wxyz', {created_at}"),
    ("usage_events", "request_id, account_id, key_id, key_source, model, provider, prompt_tokens, "
     "completion_tokens, total_tokens, cost_nanos, status, latency_ms, streamed, created_at, endpoint", ROWS,
     "'r-' || n, 'acct_' || (n % {accounts}), 'key_' || (n % {keys}), 'pool', "
     "CASE WHEN n % 3 = 0 THEN 'gpt-5.5' ELSE 'deepseek-v4' END, 'deepseek', 10, 5, 15, 100, "
     "CASE WHEN n % 10 = 0 THEN 429 ELSE 200 END, 40, n % 2 = 0, {created_at}, '/v1/chat/completions'"),
)


def _insert_series(dialect: str, table: str, columns: str, count: int, values: str) -> str:
    """One INSERT ... SELECT of `count` rows, n = 1..count."""
    cte, source = (part.format(count=count) for part in SERIES[dialect])
    values = values.format(accounts=ACCOUNTS, keys=KEYS, created_at=CREATED_AT[dialect])
    return f"{cte}INSERT INTO {table} ({columns}) SELECT {values} FROM {source}"


@pytest.fixture
async def ledger(migrated_engine):
    async with migrated_engine.begin() as conn:
        for table, columns, count, values in TABLES:
            await conn.execute(sa.text(_insert_series(conn.dialect.name, table, columns, count, values)))
        await conn.execute(sa.text("ANALYZE"))
    return migrated_engine


MIDDLE = Position(datetime(2026, 3, 10, 12, 0, tzinfo=UTC), "r-7207")  # most of acct_7's rows are older
RARE = Filters(model="gpt-5.5", errors=True, start=datetime(2026, 3, 1, tzinfo=UTC), end=NOW)  # 1 row in 30
CASES = {  # name: (filters, cursor, the index it must walk, whether its rows fill pages many times over)
    "first page": (Filters(), None, ACCOUNT_INDEX, True),
    "a later page": (Filters(), MIDDLE, ACCOUNT_INDEX, True),
    "one key, a later page": (Filters(key_id="key_107"), MIDDLE, KEY_INDEX, True),
    "a rare model and status, a time range, a later page": (RARE, MIDDLE, ACCOUNT_INDEX, False),
}


def _postgresql(plan: str, index: str, paged: bool, many: bool) -> None:
    lines = plan.splitlines()
    scan = next(n for n, line in enumerate(lines) if f"using {index} on usage_events" in line or
                f"Bitmap Index Scan on {index}" in line)
    condition = next(line for line in lines[scan:] if "Index Cond:" in line)
    assert "Seq Scan on usage_events" not in plan and "ix_usage_events_created_at " not in plan
    # The bounds are the walk's (Index Cond), not filters on rows read from the account's newest on.
    assert "account_id" in condition and (not paged or "ROW(created_at, (request_id)::text) <" in condition)
    if many:  # then ordered by the index, stopped at the page's end: nothing to sort
        assert f"Index Scan Backward using {index} on usage_events" in lines[scan] and "Sort" not in plan
    # Else the database may rather sort the few rows it expects to pass the filters, as here.


def _sqlite(plan: str, index: str, paged: bool) -> None:
    # "SEARCH usage_events USING INDEX <index> (account_id=? AND ...)"; a sort would read "USE TEMP B-TREE".
    assert f"SEARCH usage_events USING INDEX {index} (account_id=?" in plan
    assert "TEMP B-TREE" not in plan and "SCAN usage_events" not in plan
    assert not paged or "(created_at,request_id)<(?,?)" in plan.replace(" ", "")


async def test_each_page_walks_an_index_from_its_cursor_without_sorting_the_accounts_rows(ledger):
    failed = []
    async with ledger.connect() as conn:
        dialect = conn.dialect.name
        for name, (filters, after, index, many) in CASES.items():
            plan = await query_plan(conn, page_query("acct_7", filters, after, 50))
            try:
                if dialect == "postgresql":
                    _postgresql(plan, index, after is not None, many)
                else:
                    _sqlite(plan, index, after is not None)
            except (AssertionError, StopIteration):
                failed.append(f"{name}:\n{plan}")
    assert not failed, "\n\n".join(failed)
