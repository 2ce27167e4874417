"""Shared fixtures: the backends every end-to-end test runs against, and the running gateway.

Each run gets its own PostgreSQL schema and Redis key prefix and removes them afterwards, so runs
sharing the machine's services never see each other's data.
"""
import asyncio
import os
import socket
import uuid

import pytest

from tests.support.cleanup import delete_prefix, drop_schema
from tests.support.stack import EMBEDDED, Backend, start_gateway

POSTGRES_URL = os.environ.get("CLEW_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CLEW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def _require_services() -> None:
    missing = [name for name, port in (("PostgreSQL", 5432), ("Redis", 6379)) if not _reachable("127.0.0.1", port)]
    if not missing:
        return
    message = f"{' and '.join(missing)} not reachable on 127.0.0.1"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; under CI=true a missing service is a failure")
    pytest.skip(message)


# On the services named above; the deploy and e2e fixtures import these too.
async def _drop_schema(schema: str) -> None:
    await drop_schema(POSTGRES_URL, schema)


def _delete_prefix(prefix: str) -> None:
    delete_prefix(REDIS_URL, prefix)


@pytest.fixture(scope="session", params=["embedded", "postgres"])
def backend(request, tmp_path_factory):
    run = uuid.uuid4().hex[:12]
    if request.param == "embedded":
        yield EMBEDDED
        return
    _require_services()
    schema, prefix = f"clew_test_{run}", f"clewtest:{run}:"
    yield Backend("postgres", POSTGRES_URL, schema, REDIS_URL, prefix)
    asyncio.run(_drop_schema(schema))
    _delete_prefix(prefix)


@pytest.fixture(scope="session")
def gateway(backend, tmp_path_factory):
    stack = start_gateway(backend, tmp_path_factory.mktemp(f"gateway-{backend.name}"))
    yield stack
    stack.stop()


@pytest.fixture
def redis_prefix():
    """A Redis URL and a key prefix of this test's own, removed afterwards."""
    if not _reachable("127.0.0.1", 6379):
        _require_services()
    prefix = f"clewtest:{uuid.uuid4().hex[:12]}:"
    yield REDIS_URL, prefix
    _delete_prefix(prefix)


@pytest.fixture(params=["sqlite", "postgres"])
def migrated_settings(request, tmp_path):
    """Settings whose database is migrated to head: SQLite in a temp file, or a PostgreSQL schema
    of this test's own (dropped afterwards)."""
    from control_plane.db import migrate
    from schemas.settings import Settings

    env = {"CLEW_HOME": str(tmp_path)}
    schema = ""
    if request.param == "postgres":
        if not _reachable("127.0.0.1", 5432):
            _require_services()
        schema = f"clew_test_{uuid.uuid4().hex[:12]}"
        env |= {"CLEW_DATABASE_URL": POSTGRES_URL, "CLEW_DATABASE_SCHEMA": schema}
    settings = Settings.from_env(env)
    migrate.upgrade(settings)
    yield settings
    if schema:
        asyncio.run(_drop_schema(schema))


@pytest.fixture
async def migrated_engine(migrated_settings):
    """An engine on the `migrated_settings` database (each backend in turn), disposed afterwards."""
    from schemas.database import create_engine

    engine = create_engine(migrated_settings.database_url, migrated_settings.database_schema)
    yield engine
    await engine.dispose()


def pytest_configure(config):
    config.addinivalue_line("markers", "redis_only: the behaviour exists only with Redis (not on the embedded backend)")
    config.addinivalue_line("markers", "embedded_only: the fault it makes exists only on the embedded backend (its "
                                       "variant on PostgreSQL + Redis needs a gateway of its own)")


def pytest_collection_modifyitems(config, items):
    """Deselect the embedded variant of tests marked redis_only, and the other one of tests marked
    embedded_only, instead of skipping them every run."""
    keep, drop = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("backend")
        unwanted = ((backend == "embedded" and item.get_closest_marker("redis_only"))
                    or (backend == "postgres" and item.get_closest_marker("embedded_only")))
        (drop if unwanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
