"""POST /v1/telemetry/ping, /event, /batch and GET /v1/telemetry/stats through Envoy.

Per-IP limits apply to every caller of the shared gateway, so each test calls from a loopback
address of its own (127.x.y.z: Linux routes the whole block to lo), which Envoy then reports.
"""
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import sqlalchemy as sa
import yaml
from redis.asyncio import Redis

from schemas.tables import accounts, telemetry_events, telemetry_instances
from tests.support.accounts import set_tier
from tests.support.api import call, new_account

_used_addresses: set[str] = set()


def _fresh_address() -> str:
    while True:
        address = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        if address not in _used_addresses:
            _used_addresses.add(address)
            return address


@pytest.fixture
async def ip():
    """(a client session calling from a loopback address of this test's own, that address)."""
    address = _fresh_address()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0))) as session:
        yield session, address


def _limits(gateway) -> dict:
    return yaml.safe_load(gateway.config_path.read_text())["telemetry"]


def _now(offset: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + offset).isoformat().replace("+00:00", "Z")


def _ping(**changes) -> dict:
    return {"instance_id": str(uuid.uuid4()), "version": "0.3.0", "os": "linux", "arch": "x64", **changes}


def _event(name: str, **changes) -> dict:
    return {"name": name, "timestamp": _now(), **changes}


def _unique_name(tag: str) -> str:
    return f"test.{tag}_{uuid.uuid4().hex[:12]}"


async def _stored_events(db, name: str) -> list:
    async with db.connect() as conn:
        return (await conn.execute(sa.select(telemetry_events).where(telemetry_events.c.name == name))).all()


async def _instance(db, instance_id: str):
    async with db.connect() as conn:
        return (await conn.execute(sa.select(telemetry_instances)
                                   .where(telemetry_instances.c.instance_id == instance_id))).first()


# --- ping ----------------------------------------------------------------------------------------

async def test_ping_records_the_instance(ip, base, db):
    session, _ = ip
    ping = _ping()
    status, body, headers = await call(session, "POST", f"{base}/v1/telemetry/ping", json=ping)
    assert status == 200 and body["instance_id"] == ping["instance_id"]
    row = await _instance(db, ping["instance_id"])
    assert (row.version, row.os, row.arch, row.pings) == ("0.3.0", "linux", "x64", 1)
    assert headers["X-RateLimit-Limit"].isdigit()


async def test_a_second_ping_updates_last_seen_and_version(ip, base, db):
    session, _ = ip
    ping = _ping()
    await call(session, "POST", f"{base}/v1/telemetry/ping", json=ping)
    first = await _instance(db, ping["instance_id"])
    await asyncio.sleep(0.01)
    status, _, _ = await call(session, "POST", f"{base}/v1/telemetry/ping", json={**ping, "version": "0.4.0-beta.1"})
    second = await _instance(db, ping["instance_id"])
    assert status == 200 and (second.version, second.pings) == ("0.4.0-beta.1", 2)
    assert second.last_seen_at > first.last_seen_at and second.first_seen_at == first.first_seen_at


@pytest.mark.parametrize("change,param", [
    ({"instance_id": "laptop-1"}, "instance_id"), ({"instance_id": None}, "instance_id"),
    ({"version": "latest"}, "version"), ({"version": 3}, "version"), ({"os": "Linux; rm -rf"}, "os"),
    ({"arch": ""}, "arch"), ({"hostname": "my-box"}, "hostname"),
])
async def test_a_bad_ping_is_400_naming_the_field(ip, base, change, param):
    session, _ = ip
    status, body, _ = await call(session, "POST", f"{base}/v1/telemetry/ping", json=_ping(**change))
    assert status == 400 and body["error"]["param"] == param and param in body["error"]["message"]


@pytest.mark.parametrize("data", [b"", b"not json", b"[1, 2]", b"[" * 100_000, b"1" * 5000])
async def test_a_ping_that_is_not_a_json_object_is_400(ip, base, data):
    session, _ = ip
    status, body, _ = await call(session, "POST", f"{base}/v1/telemetry/ping", data=data)
    assert status == 400 and body["error"]["code"] == "invalid_json"


async def test_telemetry_needs_no_credentials_even_bad_ones(ip, base):
    session, _ = ip
    status, _, _ = await call(session, "POST", f"{base}/v1/telemetry/ping", json=_ping(),
                              headers={"Authorization": "Bearer nonsense"})
    assert status == 200


# --- event and batch -----------------------------------------------------------------------------

async def test_an_event_is_stored_with_its_properties(ip, base, db):
    session, _ = ip
    name = _unique_name("event")
    properties = {"command": "chat", "duration_ms": 1234, "ok": True, "model": None}
    status, body, _ = await call(session, "POST", f"{base}/v1/telemetry/event",
                                 json=_event(name, properties=properties, instance_id=str(uuid.uuid4())))
    assert status == 202 and body["accepted"] == 1
    [row] = await _stored_events(db, name)
    assert row.properties == properties


@pytest.mark.parametrize("change,status,param", [
    ({"name": "Not A Name"}, 400, "name"),
    ({"timestamp": "2020-01-01T00:00:00Z"}, 400, "timestamp"),
    ({"timestamp": "tomorrow"}, 400, "timestamp"),
    ({"properties": {"nested": {"a": 1}}}, 400, "properties.nested"),
    ({"properties": {"k" + str(i): i for i in range(200)}}, 400, "properties"),
    ({"properties": {"blob": "x" * 500, **{f"k{i}": "y" * 500 for i in range(10)}}}, 413, "properties"),
    ({"extra": 1}, 400, "extra"),
])
async def test_a_bad_event_is_refused_naming_the_field(ip, base, db, change, status, param):
    session, _ = ip
    name = _unique_name("bad")
    got, body, _ = await call(session, "POST", f"{base}/v1/telemetry/event", json={**_event(name), **change})
    assert got == status and body["error"]["param"] == param
    assert await _stored_events(db, name) == []


async def test_a_body_over_the_telemetry_limit_is_413(ip, base, gateway):
    session, _ = ip
    padding = "x" * (_limits(gateway)["max_body_bytes"] + 1)
    status, body, _ = await call(session, "POST", f"{base}/v1/telemetry/event",
                                 json={**_event("test.big"), "padding": padding})
    assert status == 413 and body["error"]["code"] == "request_too_large"


async def test_a_batch_stores_every_event(ip, base, db):
    session, _ = ip
    name = _unique_name("batch")
    events = [_event(name, properties={"i": i}) for i in range(5)]
    status, body, _ = await call(session, "POST", f"{base}/v1/telemetry/batch",
                                 json={"instance_id": str(uuid.uuid4()), "events": events})
    assert status == 202 and body["accepted"] == 5
    assert sorted(r.properties["i"] for r in await _stored_events(db, name)) == [0, 1, 2, 3, 4]


async def test_a_batch_with_one_bad_event_names_its_index_and_stores_none(ip, base, db):
    session, _ = ip
    name = _unique_name("atomic")
    events = [_event(name), _event(name), _event(name, timestamp="not a time"), _event(name)]
    status, body, _ = await call(session, "POST", f"{base}/v1/telemetry/batch", json={"events": events})
    assert status == 400 and body["error"]["param"] == "events[2].timestamp"
    assert body["error"]["message"].startswith("events[2].timestamp")
    assert await _stored_events(db, name) == []


async def test_a_batch_over_max_batch_is_413_and_stores_none(ip, base, db, gateway):
    session, _ = ip
    name = _unique_name("toolong")
    events = [_event(name)] * (_limits(gateway)["max_batch"] + 1)
    status, body, _ = await call(session, "POST", f"{base}/v1/telemetry/batch", json={"events": events})
    assert status == 413 and body["error"]["code"] == "batch_too_large"
    assert await _stored_events(db, name) == []


@pytest.mark.parametrize("payload", [{"events": []}, {"events": "x"}, {}, {"events": [1]}])
async def test_a_malformed_batch_is_400(ip, base, payload):
    session, _ = ip
    status, _, _ = await call(session, "POST", f"{base}/v1/telemetry/batch", json=payload)
    assert status == 400


# --- limits and privacy --------------------------------------------------------------------------

async def _wait_for_a_fresh_minute_ahead() -> None:
    # Windows are fixed minutes: a burst must not straddle a boundary (it would be counted in two).
    if time.time() % 60 > 50:
        await asyncio.sleep(60 - time.time() % 60 + 0.1)


async def test_an_address_over_its_limit_gets_429_with_retry_after(ip, base, gateway):
    session, _ = ip
    limit = _limits(gateway)["per_ip_per_minute"]
    await _wait_for_a_fresh_minute_ahead()
    statuses = [(await call(session, "POST", f"{base}/v1/telemetry/ping", json=_ping()))[0] for _ in range(limit)]
    status, body, headers = await call(session, "POST", f"{base}/v1/telemetry/ping", json=_ping())
    assert statuses == [200] * limit
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(headers["Retry-After"]) <= 60 and headers["X-RateLimit-Remaining"] == "0"


async def test_the_limit_is_per_address_and_a_forged_forwarded_for_does_not_escape_it(base, gateway):
    limit = _limits(gateway)["per_ip_per_minute"]
    await _wait_for_a_fresh_minute_ahead()
    first, second = _fresh_address(), _fresh_address()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(first, 0))) as session:
        for _ in range(limit):
            await call(session, "POST", f"{base}/v1/telemetry/event", json=_event("test.flood"))
        forged = {"X-Forwarded-For": "198.51.100.7"}
        assert (await call(session, "POST", f"{base}/v1/telemetry/ping", json=_ping(), headers=forged))[0] == 429
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(second, 0))) as session:
        assert (await call(session, "POST", f"{base}/v1/telemetry/ping", json=_ping()))[0] == 200


async def test_the_client_address_is_never_stored(ip, base, db, gateway):
    session, address = ip
    ping, name = _ping(), _unique_name("privacy")
    await call(session, "POST", f"{base}/v1/telemetry/ping", json=ping)
    await call(session, "POST", f"{base}/v1/telemetry/event", json=_event(name))
    instance, [event] = await _instance(db, ping["instance_id"]), await _stored_events(db, name)
    assert instance.ip_hash == event.ip_hash and len(instance.ip_hash) == 32
    assert address not in repr(tuple(instance)) + repr(tuple(event))
    if gateway.backend.redis_url:
        redis = Redis.from_url(gateway.backend.redis_url)
        keys = [k async for k in redis.scan_iter(match=f"{gateway.backend.redis_prefix}limit:*")]  # per-IP counters
        await redis.aclose()
        assert keys and not any(address.encode() in k for k in keys)


# --- stats ---------------------------------------------------------------------------------------

async def _stats(client, base: str, account) -> tuple[int, dict]:
    status, body, _ = await call(client, "GET", f"{base}/v1/telemetry/stats", headers=account.bearer)
    return status, body


@pytest.mark.parametrize("tier", ["free", "pro"])
async def test_stats_are_forbidden_to_ordinary_accounts(client, base, db, tier):
    account = await new_account(client, base)
    await set_tier(db, account.id, tier)
    status, body = await _stats(client, base, account)
    assert status == 403 and body["error"]["type"] == "permission_error"


async def test_stats_are_open_to_enterprise_accounts(client, base, db):
    account = await new_account(client, base)
    await set_tier(db, account.id, "enterprise")
    assert (await _stats(client, base, account))[0] == 200


async def test_stats_are_open_to_administrators_on_any_tier(client, base, db):
    account = await new_account(client, base)
    async with db.begin() as conn:
        await conn.execute(sa.update(accounts).where(accounts.c.id == account.id).values(is_admin=True))
    assert (await _stats(client, base, account))[0] == 200


async def test_stats_without_credentials_is_401(client, base):
    status, _, _ = await call(client, "GET", f"{base}/v1/telemetry/stats")
    assert status == 401


async def test_stats_count_instances_versions_events_and_days(ip, client, base, db, gateway):
    session, _ = ip
    version, name = f"0.9.{random.randint(100, 10 ** 6)}-rc.7", _unique_name("stats")
    for _ in range(2):
        assert (await call(session, "POST", f"{base}/v1/telemetry/ping", json=_ping(version=version)))[0] == 200
    many = _limits(gateway)["max_batch"]  # more than any other test sends under one name
    events = [_event(name) for _ in range(many - 1)] + [_event(name, timestamp=_now(-timedelta(days=2)))]
    assert (await call(session, "POST", f"{base}/v1/telemetry/batch", json={"events": events}))[0] == 202
    admin = await new_account(client, base)
    await set_tier(db, admin.id, "enterprise")
    status, body = await _stats(client, base, admin)
    assert status == 200 and body["object"] == "telemetry.stats"
    assert {"version": version, "instances": 2} in body["versions"]
    assert {"name": name, "count": many} in body["top_events"]
    assert body["active_instances"]["1d"] >= 2
    assert body["active_instances"]["1d"] <= body["active_instances"]["7d"] <= body["active_instances"]["30d"]
    days = body["events_per_day"]
    assert len(days) == 30 and days[-1]["date"] == datetime.now(UTC).date().isoformat()
    assert days[-1]["count"] >= many - 1 and days[-3]["count"] >= 1
