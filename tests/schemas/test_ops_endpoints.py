"""/healthz (liveness) and /readyz (readiness: the database and Redis answer) on every ops port."""
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from schemas.database import create_engine
from schemas.ops_endpoints import ops_app
from schemas.readiness import dependency_checks
from tests.support.ports import free_port


def _up(dependency: str) -> float | None:
    return REGISTRY.get_sample_value("clew_dependency_up", {"dependency": dependency})


async def test_ready_when_every_dependency_answers(aiohttp_client, tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}")
    client = await aiohttp_client(ops_app(dependency_checks(engine)))
    response = await client.get("/readyz")
    assert (response.status, await response.json()) == (200, {"status": "ready", "checks": {"database": "ok"}})
    assert _up("database") == 1
    await engine.dispose()


async def test_not_ready_names_the_dependency_that_does_not_answer(aiohttp_client, tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}")
    redis = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)  # nothing listens there
    client = await aiohttp_client(ops_app(dependency_checks(engine, redis)))
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 503 and body["status"] == "not ready"
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] != "ok"
    assert _up("redis") == 0
    await redis.aclose()
    await engine.dispose()


async def test_a_hanging_dependency_times_out_instead_of_hanging_the_probe(aiohttp_client):
    class Hangs:
        def ping(self):
            import asyncio
            return asyncio.sleep(60)

    class Engine:
        def connect(self):
            raise OSError("no database")

    client = await aiohttp_client(ops_app(dependency_checks(Engine(), Hangs())))
    response = await client.get("/readyz")
    assert (await response.json())["checks"] == {"database": "error: OSError", "redis": "timeout"}


async def test_liveness_does_not_depend_on_dependencies(aiohttp_client):
    async def never_ready():
        return {"database": "error: OSError"}
    client = await aiohttp_client(ops_app(never_ready))
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 503


async def test_without_checks_a_process_is_ready(aiohttp_client):
    client = await aiohttp_client(ops_app())
    assert (await client.get("/readyz")).status == 200
