"""A gateway of the operators' shape for the operations tests: PostgreSQL, Redis, two sidecar
processes and Envoy's ops listener, in a schema and key prefix of its own."""
import asyncio
import uuid

import aiohttp
import pytest

from tests.conftest import POSTGRES_URL, REDIS_URL, _delete_prefix, _drop_schema, _require_services
from tests.support.ports import free_port
from tests.support.stack import Backend, start_gateway


@pytest.fixture(scope="session")
def ops_gateway(tmp_path_factory):
    _require_services()
    run = uuid.uuid4().hex[:12]
    backend = Backend("postgres", POSTGRES_URL, f"clew_test_{run}", REDIS_URL, f"clewtest:{run}:")
    try:
        stack = start_gateway(backend, tmp_path_factory.mktemp("ops-gateway"),
                              {"CLEW_ENVOY_OPS_PORT": str(free_port())})
        yield stack
        stack.stop()
    finally:
        asyncio.run(_drop_schema(backend.schema))
        _delete_prefix(backend.redis_prefix)


@pytest.fixture
async def client():
    async with aiohttp.ClientSession() as session:
        yield session
