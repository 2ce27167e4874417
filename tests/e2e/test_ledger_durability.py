"""The ledger loses nothing: a database outage delays it, a killed sidecar costs no completed request.

The tests run on a gateway over a PostgreSQL server of their own, which they stop and start again.
The outage tests share theirs (each starts the server again and the next one begins on a gateway
that came through an outage); the one that kills a sidecar and stops its gateway has its own.
"""
import asyncio
import contextlib
import os
import signal
import uuid

import aiohttp
import pytest
import sqlalchemy as sa

from plugins.identity_store import POLL_SECONDS
from schemas.database import create_engine
from schemas.tables import usage_events
from tests.conftest import REDIS_URL, _delete_prefix, _require_services
from tests.e2e.chat import chat
from tests.support.accounts import set_tier
from tests.support.api import call, create_key, new_account
from tests.support.stack import Backend, start_gateway
from tests.support.throwaway_postgres import create


@contextlib.contextmanager
def _gateway_on_a_server_of_its_own(home):
    _require_services()
    server = create()
    prefix = f"clewtest:{uuid.uuid4().hex[:12]}:"
    try:
        # One sidecar process: the warm-up before an outage then surely caches the caller's identity in
        # the process that will serve it (an identity never seen cannot be checked while the database is away).
        stack = start_gateway(Backend("throwaway", server.url, "", REDIS_URL, prefix), home,
                              {"CLEW_SIDECAR_PROCESSES": "1"})
        try:
            yield stack, server
        finally:
            stack.stop()
    finally:
        server.destroy()
        _delete_prefix(prefix)


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory):
    with _gateway_on_a_server_of_its_own(tmp_path_factory.mktemp("ledger-outage")) as stack_and_server:
        yield stack_and_server


@pytest.fixture
def own_outage_stack(tmp_path):
    (tmp_path / "first").mkdir()
    with _gateway_on_a_server_of_its_own(tmp_path / "first") as stack_and_server:
        yield stack_and_server


async def _enterprise_account(client, stack, engine):
    account = await new_account(client, stack.url)
    await set_tier(engine, account.id, "enterprise")  # no quota, 1000 requests a minute
    # The change feed evicts the account within a poll: wait for that, or it could evict what the warm-up
    # traffic cached (a fast machine serves it all within one poll), leaving nothing cached for an outage.
    await asyncio.sleep(4 * POLL_SECONDS)
    return account


async def _ledger(engine, account_id: str) -> tuple[int, int]:
    async with engine.connect() as conn:
        count, tokens = (await conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(usage_events.c.completion_tokens), 0))
            .where(usage_events.c.account_id == account_id))).one()
    return int(count), int(tokens)


async def _landed_completions(engine, account_id: str) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.execute(sa.select(usage_events.c.completion_tokens)
                                        .where(usage_events.c.account_id == account_id))).scalars())


async def _eventually_ledger(engine, account_id: str, expected: tuple[int, int], timeout: float = 30) -> tuple:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            found = await _ledger(engine, account_id)
        except Exception:  # noqa: BLE001 - the database may still be starting
            found = None
        if found == expected or loop.time() > deadline:
            return found
        await asyncio.sleep(0.25)


async def _traffic(client, stack, account, count: int, concurrency: int = 4, failures=None,
                   done=None) -> list[int]:
    """`count` completions, each reporting i completion tokens; the i of every one that completed."""
    done = [] if done is None else done
    queue = list(range(1, count + 1))
    failures = [] if failures is None else failures

    async def worker():
        while queue:
            i = queue.pop()
            try:
                status, body, _ = await chat(client, stack.url, {**account.bearer, "x-sim-completion-tokens": str(i)},
                                             model="deepseek-v4")
            except aiohttp.ClientError as exc:  # the gateway going down under the request
                failures.append(repr(exc))
            if status == 200 and body["usage"]["completion_tokens"] == i:
                done.append(i)
            else:
                failures.append((status, body))
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def test_database_outage_delays_the_ledger_and_loses_nothing(client, outage_stack):
    stack, server = outage_stack
    engine = create_engine(server.url)
    try:
        account = await _enterprise_account(client, stack, engine)
        served = await _traffic(client, stack, account, 20)
        await engine.dispose()
        server.stop()
        failures = []
        served += await _traffic(client, stack, account, 30, failures=failures)  # with the database down
        during_outage = len(served)
        server.start()
        landed = await _eventually_ledger(engine, account.id, (len(served), sum(served)))
    finally:
        await engine.dispose()
    assert during_outage == 50, failures[:5]  # every request was served while the database was away
    assert landed == (50, sum(served))  # and every one landed exactly once afterwards


async def test_a_key_never_seen_is_a_503_while_the_database_is_away_and_served_once_it_is_back(client, outage_stack):
    stack, server = outage_stack
    account = await new_account(client, stack.url)
    key = (await create_key(client, stack.url, account))["key"]
    server.stop()
    try:
        status, body, headers = await chat(client, stack.url, {"X-API-Key": key}, model="deepseek-v4")
    finally:
        server.start()
    assert status == 503, body
    assert body["error"]["code"] == "service_unavailable" and headers["retry-after"] == "1"
    status, body, _ = await chat(client, stack.url, {"X-API-Key": key}, model="deepseek-v4")
    assert status == 200, body  # the failed lookup was not remembered as "no such key"


async def test_management_routes_answer_503_with_retry_after_while_the_database_is_away(client, outage_stack):
    stack, server = outage_stack
    engine = create_engine(server.url)
    try:
        account = await _enterprise_account(client, stack, engine)
    finally:
        await engine.dispose()
    status, _, _ = await call(client, "GET", f"{stack.url}/v1/auth/me", headers=account.bearer)
    assert status == 200  # the sidecar now knows the caller: the outage below reaches the control plane
    server.stop()
    try:
        answers = [await call(client, method, f"{stack.url}{path}", headers=account.bearer, **extra)
                   for method, path, extra in (("GET", "/v1/usage", {}), ("GET", "/v1/keys", {}),
                                               ("POST", "/v1/keys", {"json": {"name": "outage"}}))]
    finally:
        server.start()
    for status, body, headers in answers:
        assert status == 503, body
        assert body["error"]["code"] == "service_unavailable" and body["error"]["type"] == "server_error"
        assert headers["Retry-After"].isdigit()


async def test_sigkilled_sidecar_loses_no_completed_request(client, own_outage_stack, tmp_path):
    stack, server = own_outage_stack
    engine = create_engine(server.url)
    try:
        account = await _enterprise_account(client, stack, engine)
        done = []
        traffic = asyncio.ensure_future(_traffic(client, stack, account, 120, concurrency=8, done=done))
        while len(done) < 10 and not traffic.done():  # kill mid-traffic, however fast the machine
            await asyncio.sleep(0.01)
        os.kill(stack.child_pid("plugins"), signal.SIGKILL)
        served = await traffic
        stack.stop()
        # A new gateway on the same database and Redis lands whatever the old one had queued.
        (tmp_path / "again").mkdir()
        again = start_gateway(stack.backend, tmp_path / "again")
        try:
            # Usage is queued before the last byte leaves, so a request cut at its very end may be
            # metered without the client seeing it complete: the ledger holds at least what completed.
            await _eventually_ledger(engine, account.id, (len(served), sum(served)), timeout=10)
            landed = await _landed_completions(engine, account.id)
        finally:
            again.stop()
    finally:
        await engine.dispose()
    assert 0 < len(served) < 120
    assert set(served) <= set(landed), "a completed request is missing from the ledger"
    assert len(landed) == len(set(landed))  # and none landed twice
