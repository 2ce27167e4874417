"""The full gateway for the benchmark: `clew up` on PostgreSQL + Redis in a schema and key prefix of
its own, every provider pointed at the fixed-response upstream, and one enterprise account whose
rate limit the load never reaches.
"""
import asyncio
import uuid
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import sqlalchemy as sa
import yaml

from control_plane.changes import record_account_change
from schemas.database import create_engine
from schemas.tables import accounts
from tests.support.api import Account, call, create_key, login, unique_email
from tests.support.cleanup import delete_prefix, drop_schema
from tests.support.stack import ROOT, Backend, Gateway, start_gateway

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
TIER, REQUESTS_PER_MINUTE = "enterprise", 100_000_000
PASSWORD = "bench password 123"


@contextmanager
def bench_backend():
    """A Backend whose schema and Redis keys are removed afterwards, whatever happens."""
    run = uuid.uuid4().hex[:12]
    backend = Backend("postgres", POSTGRES_URL, f"clew_bench_{run}", REDIS_URL, f"clewbench:{run}:")
    try:
        yield backend
    finally:
        asyncio.run(drop_schema(POSTGRES_URL, backend.schema))
        delete_prefix(REDIS_URL, backend.redis_prefix)


def bench_config(home: Path) -> Path:
    """The repo's gateway.yaml with a rate limit on the bench's tier that the load never reaches."""
    config = yaml.safe_load((ROOT / "gateway.yaml").read_text())
    config["tiers"][TIER]["requests_per_minute"] = REQUESTS_PER_MINUTE
    path = home / "bench-gateway.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start(backend: Backend, home: Path, upstream_url: str) -> Gateway:
    env = {"CLEW_SIMULATOR": "off", "CLEW_SIMULATOR_URL": upstream_url, "CLEW_CONFIG": str(bench_config(home))}
    return start_gateway(backend, home, extra_env=env)


async def _set_tier(gateway: Gateway, account_id: str) -> None:
    """Behind the API's back, as billing would; the change feed makes the sidecars drop cached copies."""
    engine = create_engine(gateway.database_url, gateway.backend.schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values(tier=TIER))
            await record_account_change(conn, account_id)
    finally:
        await engine.dispose()


async def api_key(gateway: Gateway) -> str:
    """Sign up, move the account to the bench tier, and create an API key."""
    email = unique_email("bench")
    async with aiohttp.ClientSession() as session:
        status, body, _ = await call(session, "POST", f"{gateway.url}/v1/auth/signup",
                                     json={"email": email, "password": PASSWORD})
        if status != 201:
            raise RuntimeError(f"signup through the gateway failed: {status} {body}")
        await _set_tier(gateway, body["id"])
        token = await login(session, gateway.url, email, PASSWORD)
        key = await create_key(session, gateway.url, Account(body["id"], email, PASSWORD, token), "bench")
    await asyncio.sleep(1.0)  # a few polls of the sidecars' change feed (every 0.25 s)
    return key["key"]
