"""Migration 0007: keys that existed before scopes keep the default scope, on SQLite and PostgreSQL."""
import asyncio
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from control_plane.db import migrate
from schemas.database import create_engine
from schemas.settings import Settings
from tests.conftest import POSTGRES_URL, _drop_schema, _reachable, _require_services


@pytest.fixture(params=["sqlite", "postgres"])
def settings_at_0006(request, tmp_path):
    env = {"CLEW_HOME": str(tmp_path)}
    schema = ""
    if request.param == "postgres":
        if not _reachable("127.0.0.1", 5432):
            _require_services()
        schema = f"clew_test_{uuid.uuid4().hex[:12]}"
        env |= {"CLEW_DATABASE_URL": POSTGRES_URL, "CLEW_DATABASE_SCHEMA": schema}
    settings = Settings.from_env(env)
    migrate.upgrade(settings, "0006")
    yield settings
    if schema:
        asyncio.run(_drop_schema(schema))


async def _run(settings: Settings, statement, *params):
    engine = create_engine(settings.database_url, settings.database_schema)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(sa.text(statement), *params)
            return result.all() if result.returns_rows else None
    finally:
        await engine.dispose()


def test_existing_keys_get_the_default_scope(settings_at_0006):
    now = datetime.now(UTC)
    asyncio.run(_run(settings_at_0006, "INSERT INTO accounts (id, email, password_hash, tier, session_epoch, "
                                       "created_at) VALUES ('acct_1', 'a@example.com', 'x', 'free', 0, :now)",
                     {"now": now}))
    asyncio.run(_run(settings_at_0006, "INSERT INTO api_keys (id, account_id, name, key_hash, prefix, last4, "
                                       "created_at) VALUES ('key_1', 'acct_1', 'old', :hash, 'sk-clew-abcd', "
                                       "'wxyz', :now)", {"hash": "0" * 64, "now": now}))
    migrate.upgrade(settings_at_0006)
    assert asyncio.run(_run(settings_at_0006, "SELECT id, scope FROM api_keys")) == [("key_1", "default")]
