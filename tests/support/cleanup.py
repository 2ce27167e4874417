"""Removing what a run left on the shared PostgreSQL and Redis: its schema and its key prefix."""
import redis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine


async def drop_schema(postgres_url: str, schema: str) -> None:
    engine = create_async_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


def delete_prefix(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
