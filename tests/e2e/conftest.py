import aiohttp
import pytest

from schemas.database import create_engine


@pytest.fixture
async def client():
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def base(gateway) -> str:
    return gateway.url


@pytest.fixture
async def db(gateway):
    """The gateway's own database, to assert on what was stored."""
    engine = create_engine(gateway.database_url, gateway.backend.schema)
    yield engine
    await engine.dispose()
