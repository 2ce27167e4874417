"""Migration 0012 on SQLite and PostgreSQL: ledger rows from before it have no body_bytes nor cut
numbers (NULL: never corrected), and downgrading drops the columns and keeps the rows."""
import asyncio
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from control_plane.db import migrate
from schemas.database import create_engine
from schemas.settings import Settings
from tests.conftest import POSTGRES_URL, _drop_schema, _reachable, _require_services

OLD_ROW = ("INSERT INTO usage_events (request_id, account_id, key_id, key_source, model, provider, prompt_tokens, "
           "completion_tokens, total_tokens, cost_nanos, status, latency_ms, streamed, created_at) VALUES "
           "('req_old', 'acct_1', '', 'pool', 'deepseek-v4', 'deepseek', 1, 2, 3, 4, 200, 5, false, :now)")


@pytest.fixture(params=["sqlite", "postgres"])
def settings_at_0011(request, tmp_path):
    env = {"CLEW_HOME": str(tmp_path)}
    schema = ""
    if request.param == "postgres":
        if not _reachable("127.0.0.1", 5432):
            _require_services()
        schema = f"clew_test_{uuid.uuid4().hex[:12]}"
        env |= {"CLEW_DATABASE_URL": POSTGRES_URL, "CLEW_DATABASE_SCHEMA": schema}
    settings = Settings.from_env(env)
    migrate.upgrade(settings, "0011")
    asyncio.run(_run(settings, OLD_ROW, {"now": datetime.now(UTC)}))
    yield settings
    if schema:
        asyncio.run(_drop_schema(schema))


async def _run(settings: Settings, statement: str, params: dict | None = None) -> list | None:
    engine = create_engine(settings.database_url, settings.database_schema)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(sa.text(statement), params or {})
            return result.all() if result.returns_rows else None
    finally:
        await engine.dispose()


def test_rows_from_before_have_no_delivery_numbers(settings_at_0011):
    migrate.upgrade(settings_at_0011, "0012")
    assert asyncio.run(_run(settings_at_0011, "SELECT request_id, body_bytes, cut_completion_tokens, cut_cost_nanos "
                                              "FROM usage_events")) == [("req_old", None, None, None)]


def test_downgrading_drops_the_columns_and_keeps_the_rows(settings_at_0011):
    migrate.upgrade(settings_at_0011, "0012")
    command.downgrade(migrate.alembic_config(settings_at_0011), "0011")
    assert asyncio.run(_run(settings_at_0011, "SELECT request_id, cost_nanos FROM usage_events")) == [("req_old", 4)]
    with pytest.raises(sa.exc.DBAPIError):
        asyncio.run(_run(settings_at_0011, "SELECT body_bytes FROM usage_events"))
