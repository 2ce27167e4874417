"""CLEW_REDIS_URL names one Redis server or a Redis Cluster; the gateway's scripts and streams work on both."""
import asyncio
import os
import shutil
import subprocess
import time
import uuid

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis, RedisCluster

from control_plane.db import migrate
from control_plane.usage.ledger import LedgerConsumer
from plugins.counters import RedisWindows
from plugins.usage_sink import RedisStreamSink
from schemas.database import create_engine
from schemas.events import UsageEvent
from schemas.redis_client import connect, is_cluster
from schemas.settings import Settings
from schemas.tables import usage_events
from tests.support.ports import free_port_with_companion

NODES = 3
CLUSTER_BUS_OFFSET = 10000  # each node also listens on its port + 10000 for the cluster bus


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three cluster-enabled redis-server processes on loopback, joined into one cluster."""
    home = tmp_path_factory.mktemp("redis-cluster")
    ports = [free_port_with_companion(CLUSTER_BUS_OFFSET) for _ in range(NODES)]
    servers = [subprocess.Popen([_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                 "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf",
                                 "--dir", str(home), "--save", "", "--appendonly", "no"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for port in ports]
    try:
        _wait_for_nodes(ports, servers)
        subprocess.run([_binary("redis-cli"), "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=30)
        _wait_for_state_ok(ports)
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


def _cli(port: int, *args: str) -> str:
    return subprocess.run([_binary("redis-cli"), "-p", str(port), *args], capture_output=True, text=True).stdout


def _wait_for_nodes(ports: list[int], servers: list) -> None:
    deadline = time.monotonic() + 30  # a loaded machine starts them slowly
    while not all(_cli(p, "ping").strip() == "PONG" for p in ports):
        assert all(server.poll() is None for server in servers), "a redis-server exited while starting"
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)


def _wait_for_state_ok(ports: list[int]) -> None:
    deadline = time.monotonic() + 15
    while not all("cluster_state:ok" in _cli(p, "cluster", "info") for p in ports):
        assert time.monotonic() < deadline, "the cluster did not form"
        time.sleep(0.1)


def test_a_plain_url_is_one_server():
    assert not is_cluster("redis://127.0.0.1:6379/0")
    assert type(connect("redis://127.0.0.1:6379/0")) is Redis


async def test_a_burst_beyond_the_pool_waits_for_a_connection_instead_of_failing(redis_prefix):
    url, prefix = redis_prefix
    redis = connect(url, max_connections=2)
    try:
        await asyncio.gather(*(redis.incr(f"{prefix}burst") for _ in range(50)))
        assert int(await redis.get(f"{prefix}burst")) == 50
    finally:
        await redis.aclose()


async def test_a_connection_redis_dropped_is_replaced_without_an_error(redis_prefix):
    url, prefix = redis_prefix
    redis, admin = connect(url, max_connections=1), Redis.from_url(url)
    try:
        await redis.client_setname(f"{prefix.strip(':').replace(':', '-')}-victim")
        victim = await redis.client_id()
        await admin.client_kill_filter(_id=victim)  # what a Redis restart does to every pooled connection
        assert await redis.set(f"{prefix}after-kill", 1) is True
        assert await redis.client_id() != victim
    finally:
        await redis.aclose()
        await admin.aclose()


def test_a_cluster_url_is_a_cluster_client(cluster):
    assert is_cluster(cluster) and isinstance(connect(cluster), RedisCluster)


async def test_rate_limits_work_on_a_cluster_for_accounts_on_every_node(cluster):
    redis = connect(cluster)
    windows, prefix = RedisWindows(redis, "clewtest:"), uuid.uuid4().hex
    try:
        verdicts = [await windows.hit(f"{prefix}-{n}", 1, 60, f"r{i}") for n in range(12) for i in range(2)]
        assert [v.allowed for v in verdicts] == [True, False] * 12
        assert len({await redis.cluster_keyslot(f"clewtest:rl:{{{prefix}-{n}}}:rpm") for n in range(12)}) > 1
    finally:
        await redis.aclose()


@pytest.fixture
def sqlite_settings(tmp_path) -> Settings:
    settings = Settings.from_env({"CLEW_HOME": str(tmp_path)})
    migrate.upgrade(settings)  # outside the event loop: Alembic runs one of its own
    return settings


async def test_usage_events_reach_the_ledger_through_a_cluster(cluster, sqlite_settings):
    settings = sqlite_settings
    engine, redis = create_engine(settings.database_url), connect(cluster)
    prefix = f"clewtest:{uuid.uuid4().hex[:8]}:"
    consumer = LedgerConsumer(redis, prefix, engine, block_ms=50, backoff=(0.05, 0.2))
    event = UsageEvent(request_id=uuid.uuid4().hex, account_id="acct_1", key_id="key_1", key_source="pool",
                       model="deepseek-v4", provider="deepseek", prompt_tokens=1, completion_tokens=2, cost_nanos=3,
                       status=200, latency_ms=4, streamed=False, created_at=time.time())
    try:
        await RedisStreamSink(redis, prefix).publish(event)
        consumer.start()
        for _ in range(100):
            async with engine.connect() as conn:
                landed = (await conn.execute(sa.select(sa.func.count()).select_from(usage_events))).scalar()
            if landed:
                break
            await asyncio.sleep(0.05)
        assert landed == 1
        assert await redis.xlen(f"{prefix}usage-events") == 0  # acknowledged and deleted in one MULTI
    finally:
        await consumer.stop()
        await redis.aclose()
        await engine.dispose()
