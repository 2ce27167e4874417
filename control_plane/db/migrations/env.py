"""Alembic environment: runs migrations over the async engine the app itself uses."""
import asyncio

from alembic import context

from schemas.database import create_engine
from schemas.settings import Settings
from schemas.tables import metadata

target_metadata = metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(settings: Settings) -> None:
    engine = create_engine(settings.database_url, settings.database_schema)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


settings = context.config.attributes.get("settings") or Settings.from_env()
asyncio.run(_run_online(settings))
