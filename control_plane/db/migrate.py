"""`clew migrate`: bring the database to the newest Alembic revision."""
import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from schemas.database import create_engine
from schemas.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["settings"] = settings
    return config


async def _create_schema(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{settings.database_schema}"'))
    finally:
        await engine.dispose()


def upgrade(settings: Settings, revision: str = "head") -> None:
    if settings.database_schema:
        asyncio.run(_create_schema(settings))
    command.upgrade(alembic_config(settings), revision)
