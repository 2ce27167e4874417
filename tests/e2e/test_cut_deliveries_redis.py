"""On PostgreSQL + Redis, a gateway of its own over a Redis server of its own: a JSON answer whose client
left while a frozen Redis held its last write is billed for its prompt (the quota counter in Redis
equal to the ledger); the reconciler, killed, resumes where it stopped and reads no line twice; its
log is rotated (at 1.5 KB here) and read on across the rotations.
"""
import asyncio
import os
import signal
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import redis
import sqlalchemy as sa

from schemas.database import create_engine
from schemas.tables import usage_events
from tests.conftest import POSTGRES_URL, _drop_schema, _require_services
from tests.e2e.chat import expected_cost, free_account_with
from tests.e2e.deliveries import HangingUpClient, metric, provider_answered, row_with_status
from tests.support.stack import Backend, start_gateway
from tests.support.throwaway_redis import ThrowawayRedis

PREFIX, LEFT = "clewtest:", 5_000
ROTATE_BYTES = 1500  # a few lines


@pytest.fixture
async def stack(tmp_path):
    _require_services()
    server, schema = ThrowawayRedis().start(), f"clew_test_{uuid.uuid4().hex[:12]}"
    gateway = start_gateway(Backend("deliveries", POSTGRES_URL, schema, server.url, PREFIX), tmp_path,
                            {"CLEW_DELIVERY_LOG_ROTATE_BYTES": str(ROTATE_BYTES)})
    engine = create_engine(POSTGRES_URL, schema)
    yield gateway, server, engine
    gateway.stop()
    server.destroy()
    await engine.dispose()
    await _drop_schema(schema)


async def _envoy_stat(session, gateway, name: str) -> int:
    async with session.get(f"http://127.0.0.1:{gateway.env['CLEW_ADMIN_PORT']}/stats",
                           params={"filter": f"^{name}$", "format": "json"}) as reply:
        stats = (await reply.json())["stats"]
    return sum(int(stat.get("value", 0)) for stat in stats)


async def _until(check, timeout: float = 30, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.1)


async def _cut_while_redis_is_frozen(session, gateway, server, account) -> dict:
    """A JSON chat whose last write waits on a frozen Redis (the quota settles, the event queues there),
    and whose client hangs up meanwhile; the simulator's entry of the call."""
    tokens, since = 100 + uuid.uuid4().int % 800, time.time()
    caller = HangingUpClient(gateway, {**account.bearer, "x-sim-completion-tokens": str(tokens),
                                       "x-sim-latency-ms": "1500"}, model="deepseek-v4")
    await caller.send()
    # Past the checks that need Redis (rate limit, quota): the provider has the request.
    await _until(lambda: _active_provider_calls(session, gateway), message="the request never reached the provider")
    server.freeze()
    try:
        provider = await provider_answered(session, gateway, tokens, since)
        await asyncio.sleep(1.0)  # the sidecar holds the answer, waiting on Redis
        assert await caller.hang_up() == b""
        await asyncio.sleep(0.5)
    finally:
        server.thaw()
    return provider


async def _active_provider_calls(session, gateway) -> bool:
    return await _envoy_stat(session, gateway, r"cluster\.provider_deepseek\.upstream_rq_active") > 0


async def _ledger_month(engine, account_id: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.sum(usage_events.c.total_tokens))
                                       .where(usage_events.c.account_id == account_id))).scalar_one())


def _quota_counter(server, account_id: str) -> int:
    client = redis.Redis.from_url(server.url)
    try:
        return int(client.get(f"{PREFIX}quota:{{{account_id}}}:{datetime.now(UTC):%Y-%m}"))
    finally:
        client.close()


def _sidecar_0(gateway) -> int:
    pid = gateway.process.pid
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        if b"-m\0plugins\0--index\0" + b"0\0" in Path(f"/proc/{child}/cmdline").read_bytes():
            return int(child)
    raise AssertionError("sidecar 0 is not running")


async def _lines_read(session, gateway) -> float:
    return await metric(session, gateway.metrics_url("sidecar"), "clew_delivery_log_lines_total")


async def _requests_logged(session, gateway) -> int:
    """Requests Envoy took, each written to its access log once it ends (none is in flight when asked)."""
    return await _envoy_stat(session, gateway, r"http\.https?\.downstream_rq_total")


async def _assert_billed_for_the_prompt(gateway, engine, server, account, provider: dict) -> None:
    row = await row_with_status(engine, account.id, 499)
    assert row.body_bytes > 0  # the sidecar had the answer: the cut came during its last write
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (provider["prompt_tokens"], 0, 6)
    assert row.cost_nanos == int(expected_cost(gateway, "deepseek-v4", 6, 0) * 1_000_000_000)
    await _until(lambda: _counter_is_ledger(engine, server, account.id),
                 message="the quota counter did not follow the correction")


async def _counter_is_ledger(engine, server, account_id: str) -> bool:
    return _quota_counter(server, account_id) == await _ledger_month(engine, account_id)


async def test_cut_answers_are_corrected_across_a_frozen_redis_a_restart_and_rotations(stack):
    gateway, server, engine = stack
    async with aiohttp.ClientSession() as session:
        account = await free_account_with(session, gateway, engine, LEFT)
        first = await _cut_while_redis_is_frozen(session, gateway, server, account)
        await _assert_billed_for_the_prompt(gateway, engine, server, account, first)

        # Killed once it read every line so far, some of them in the file it reads now: its restart must
        # read only what comes after.
        await _read_lines_in_the_current_file(session, gateway)
        logged = await _requests_logged(session, gateway)
        os.kill(_sidecar_0(gateway), signal.SIGKILL)
        await _until(lambda: _ready(session, gateway), message="sidecar 0 was not restarted")
        second_account = await free_account_with(session, gateway, engine, LEFT)
        second = await _cut_while_redis_is_frozen(session, gateway, server, second_account)
        await _assert_billed_for_the_prompt(gateway, engine, server, second_account, second)
        await _until(lambda: _read_since(session, gateway, logged), message="the reconciler fell behind")
        assert await _lines_read(session, gateway) == await _requests_logged(session, gateway) - logged

    assert (gateway.home / "log" / "envoy-access.log.1").exists()  # rotated, and read on
    assert _quota_counter(server, account.id) == await _ledger_month(engine, account.id)  # not moved twice


async def _read_lines_in_the_current_file(session, gateway) -> None:
    """Wait until every line is read and the file being read holds some of them and is not about to be
    rotated: a restart that began again from the file's start would read those twice."""
    log = gateway.home / "log" / "envoy-access.log"
    for _ in range(20):
        await _until(lambda: _all_read(session, gateway), message="the reconciler did not read the whole log")
        size = log.stat().st_size if log.exists() else 0
        if 0 < size < ROTATE_BYTES:
            return
        if size == 0:
            async with session.get(f"{gateway.url}/v1/models"):  # one more line
                pass
        else:
            await asyncio.sleep(0.5)  # past the size: rotated once read
    raise AssertionError("the access log never held read lines below its rotation size")


async def _all_read(session, gateway) -> bool:
    return await _lines_read(session, gateway) >= await _requests_logged(session, gateway)


async def _read_since(session, gateway, logged: int) -> bool:
    return await _lines_read(session, gateway) >= await _requests_logged(session, gateway) - logged


async def _ready(session, gateway) -> bool:
    try:
        async with session.get(gateway.metrics_url("sidecar").replace("/metrics", "/readyz")) as reply:
            return reply.status == 200
    except OSError:
        return False
