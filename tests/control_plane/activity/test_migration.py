"""Migration 0009 on SQLite and PostgreSQL: ledger rows from before it get an empty endpoint, the
activity log's indexes replace (account_id, created_at), and downgrading puts that one back."""
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
def settings_at_0008(request, tmp_path):
    env = {"CLEW_HOME": str(tmp_path)}
    schema = ""
    if request.param == "postgres":
        if not _reachable("127.0.0.1", 5432):
            _require_services()
        schema = f"clew_test_{uuid.uuid4().hex[:12]}"
        env |= {"CLEW_DATABASE_URL": POSTGRES_URL, "CLEW_DATABASE_SCHEMA": schema}
    settings = Settings.from_env(env)
    migrate.upgrade(settings, "0008")
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


async def _indexes(settings: Settings) -> set[str]:
    engine = create_engine(settings.database_url, settings.database_schema)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda sync: sa.inspect(sync).get_indexes("usage_events"))
            return {index["name"] for index in found}
    finally:
        await engine.dispose()


def test_old_rows_get_an_empty_endpoint_and_the_indexes_are_replaced(settings_at_0008):
    asyncio.run(_run(settings_at_0008, OLD_ROW, {"now": datetime.now(UTC)}))
    migrate.upgrade(settings_at_0008, "0009")
    assert asyncio.run(_run(settings_at_0008, "SELECT request_id, endpoint FROM usage_events")) == [("req_old", "")]
    assert asyncio.run(_indexes(settings_at_0008)) == {
        "ix_usage_events_created_at", "ix_usage_events_account_id_created_at_request_id",
        "ix_usage_events_account_id_key_id_created_at_request_id"}


def test_downgrading_restores_the_old_index_and_keeps_the_rows(settings_at_0008):
    asyncio.run(_run(settings_at_0008, OLD_ROW, {"now": datetime.now(UTC)}))
    migrate.upgrade(settings_at_0008, "0009")
    command.downgrade(migrate.alembic_config(settings_at_0008), "0008")
    assert asyncio.run(_indexes(settings_at_0008)) == {"ix_usage_events_created_at",
                                                       "ix_usage_events_account_id_created_at"}
    assert asyncio.run(_run(settings_at_0008, "SELECT request_id FROM usage_events")) == [("req_old",)]
