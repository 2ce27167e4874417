"""Webhook deliveries end to end: the event happens through Envoy (a key created, a tier changed, a
quota threshold crossed by real chat completions), and a real local HTTP receiver gets it signed,
retried after failures, and still delivered across a restart of the control plane.

The receiver listens on 127.0.0.1, which needs `webhooks.allow_private_targets: true`: these tests
run against a gateway of their own (one per backend), with fast retries. On PostgreSQL it also
gets a schema and Redis prefix of its own, so the shared gateway's delivery worker (which refuses
private targets) never claims its deliveries.
"""
import asyncio
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from control_plane import clock
from control_plane.changes import record_account_change
from control_plane.webhooks.events import emit
from schemas.database import create_engine
from schemas.tables import accounts, webhook_attempts, webhook_deliveries
from tests.conftest import POSTGRES_URL, REDIS_URL, _delete_prefix, _drop_schema, _require_services
from tests.e2e.chat import chat
from tests.support.accounts import set_tier
from tests.support.api import Account, call, create_key, new_account
from tests.support.stack import ROOT, Backend, Gateway, start_gateway
from tests.support.webhook_receiver import Receiver, signature_is_valid

WEBHOOKS = {"max_attempts": 8, "backoff_seconds": 0.5, "timeout_seconds": 1, "max_per_account": 10,
            "allow_private_targets": True}
ENTERPRISE_CAP_USD = "0.01"  # a tier's spend cap, for the spend-cap webhooks


@dataclass
class OwnGateway:
    """A gateway that tests may restart; `gateway` is the one currently running."""
    backend: Backend
    home: Path
    extra_env: dict
    gateway: Gateway

    @property
    def url(self) -> str:
        return self.gateway.url

    # In threads: the receiver, on this event loop, must keep answering meanwhile.
    async def stop(self) -> None:
        await asyncio.to_thread(self.gateway.stop)

    async def start(self) -> None:
        self.gateway = await asyncio.to_thread(start_gateway, self.backend, self.home, self.extra_env)


def _own_backend(shared: Backend) -> Backend:
    if shared.name == "embedded":
        return shared  # SQLite lives in the gateway's home: already its own
    _require_services()
    run = uuid.uuid4().hex[:12]
    return Backend("postgres", POSTGRES_URL, f"clew_test_{run}", REDIS_URL, f"clewtest:{run}:")


@pytest.fixture(scope="module")
def own(backend, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"webhooks-{backend.name}")
    config = yaml.safe_load((ROOT / "gateway.yaml").read_text())
    config["webhooks"] = WEBHOOKS
    config["tiers"]["enterprise"]["monthly_spend_cap_usd"] = ENTERPRISE_CAP_USD
    config_path = home / "webhooks-gateway.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    mine, extra_env = _own_backend(backend), {"CLEW_CONFIG": str(config_path)}
    stack = OwnGateway(mine, home, extra_env, start_gateway(mine, home, extra_env))
    yield stack
    stack.gateway.stop()
    if mine is not backend:
        asyncio.run(_drop_schema(mine.schema))
        _delete_prefix(mine.redis_prefix)


@pytest.fixture(scope="module")
async def receiver():
    async with Receiver() as server:
        yield server


@pytest.fixture
async def own_db(own):
    engine = create_engine(own.gateway.database_url, own.backend.schema)
    yield engine
    await engine.dispose()


async def _subscribe(client, own: OwnGateway, receiver: Receiver, account: Account, events: list[str]):
    """(receiver path, signing secret) of a new webhook of `account`."""
    path = receiver.new_path()
    status, body, _ = await call(client, "POST", f"{own.url}/v1/webhooks", headers=account.bearer,
                                 json={"url": receiver.url(path), "events": events})
    assert status == 201, body
    return path, body["secret"]


async def _one_delivery(receiver: Receiver, path: str, secret: str, event_type: str) -> dict:
    [got] = await receiver.wait_for(path)
    assert signature_is_valid(secret, got), "bad signature"
    assert got.headers["X-Clew-Event"] == event_type and got.headers["Content-Type"] == "application/json"
    event = got.event
    assert event["type"] == event_type and event["id"].startswith("evt_")
    return event


async def _attempts(engine, delivery_id: str) -> list:
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(webhook_attempts).where(webhook_attempts.c.delivery_id == delivery_id)
                                   .order_by(webhook_attempts.c.attempt))).all()


async def _delivery(engine, delivery_id: str):
    async with engine.connect() as conn:
        return (await conn.execute(sa.select(webhook_deliveries)
                                   .where(webhook_deliveries.c.id == delivery_id))).one()


async def _eventually(probe, timeout: float = 20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await probe()):
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.1)
    return result


# --- one signed delivery per event type, when the event happens -----------------------------------

async def test_creating_a_key_delivers_key_created(client, own, receiver):
    account = await new_account(client, own.url)
    path, secret = await _subscribe(client, own, receiver, account, ["key.created"])
    key = await create_key(client, own.url, account, "deploy")
    event = await _one_delivery(receiver, path, secret, "key.created")
    assert event["account_id"] == account.id
    assert event["data"] == {**event["data"], "id": key["id"], "name": "deploy", "last4": key["last4"]}
    assert key["key"] not in json.dumps(event)


async def test_revoking_a_key_delivers_key_revoked(client, own, receiver):
    account = await new_account(client, own.url)
    key = await create_key(client, own.url, account)
    path, secret = await _subscribe(client, own, receiver, account, ["key.revoked"])
    status, _, _ = await call(client, "DELETE", f"{own.url}/v1/keys/{key['id']}", headers=account.bearer)
    assert status == 200
    event = await _one_delivery(receiver, path, secret, "key.revoked")
    assert event["data"]["id"] == key["id"]


async def test_editing_a_key_delivers_key_updated_with_what_changed(client, own, receiver):
    account = await new_account(client, own.url)
    key = await create_key(client, own.url, account)
    path, secret = await _subscribe(client, own, receiver, account, ["key.updated"])
    status, _, _ = await call(client, "PATCH", f"{own.url}/v1/keys/{key['id']}", headers=account.bearer,
                              json={"allowed_models": ["deepseek-v4"], "monthly_budget_usd": 5})
    assert status == 200
    event = await _one_delivery(receiver, path, secret, "key.updated")
    assert event["data"]["id"] == key["id"] and event["data"]["changed"] == ["allowed_models", "monthly_budget_usd"]
    assert (event["data"]["allowed_models"], event["data"]["monthly_budget_usd"]) == (["deepseek-v4"], "5")


async def _change_tier(engine, account_id: str, tier: str) -> None:
    """A tier change the way billing makes it: the change, the feed entry and the event in one transaction."""
    async with engine.begin() as conn:
        previous = (await conn.execute(sa.select(accounts.c.tier).where(accounts.c.id == account_id))).scalar_one()
        await conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values(tier=tier))
        await record_account_change(conn, account_id)
        await emit(conn, account_id, "billing.tier_changed",
                   {"previous_tier": previous, "tier": tier, "changed_at": clock.iso(clock.now())})


async def test_changing_the_tier_delivers_billing_tier_changed(client, own, own_db, receiver):
    account = await new_account(client, own.url)
    path, secret = await _subscribe(client, own, receiver, account, ["billing.tier_changed"])
    await _change_tier(own_db, account.id, "pro")
    event = await _one_delivery(receiver, path, secret, "billing.tier_changed")
    assert (event["data"]["previous_tier"], event["data"]["tier"]) == ("free", "pro")
    status, me, _ = await call(client, "GET", f"{own.url}/v1/auth/me", headers=account.bearer)
    assert status == 200 and me["tier"] == "pro"  # the change itself took effect


async def test_an_emitted_invoice_is_delivered_as_invoice_created(client, own, own_db, receiver):
    # Billing emits invoice.created through the same emit(); here it is emitted directly.
    account = await new_account(client, own.url)
    path, secret = await _subscribe(client, own, receiver, account, ["invoice.created"])
    async with own_db.begin() as conn:
        await emit(conn, account.id, "invoice.created", {"id": "inv_test", "period": "2026-10", "total_usd": "10.00"})
    event = await _one_delivery(receiver, path, secret, "invoice.created")
    assert event["data"]["id"] == "inv_test"


async def test_crossing_80_and_100_percent_of_the_quota_delivers_each_threshold_once(client, own, receiver):
    account = await new_account(client, own.url)  # free tier: 100 000 tokens a month
    path, secret = await _subscribe(client, own, receiver, account, ["usage.quota_threshold"])
    tokens = {**account.bearer, "x-sim-prompt-tokens": "80000", "x-sim-completion-tokens": "1000"}
    assert (await chat(client, own.url, tokens, model="deepseek-v4"))[0] == 200
    eighty = await _one_delivery(receiver, path, secret, "usage.quota_threshold")
    assert eighty["data"] == {**eighty["data"], "threshold_percent": 80, "used_tokens": 81000,
                              "monthly_tokens": 100000, "tier": "free"}
    tokens.update({"x-sim-prompt-tokens": "19000", "x-sim-completion-tokens": "500"})
    assert (await chat(client, own.url, tokens, model="deepseek-v4"))[0] == 200
    both = await receiver.wait_for(path, 2)
    assert signature_is_valid(secret, both[1])
    assert both[1].event["data"]["threshold_percent"] == 100 and both[1].event["data"]["used_tokens"] == 100500
    await asyncio.sleep(3)  # more looks of the quota watch must not notify again
    assert len(receiver.received[path]) == 2


async def test_reaching_80_and_100_percent_of_the_tiers_spend_cap_delivers_each_threshold_once(
        client, own, own_db, receiver):
    account = await new_account(client, own.url)
    await set_tier(own_db, account.id, "enterprise")  # capped at $0.01 a month on this gateway
    status, body, _ = await call(client, "PATCH", f"{own.url}/v1/billing/spend_cap", headers=account.bearer,
                                 json={"monthly_spend_cap_usd": "0.02"})  # above the tier's: refused
    assert (status, body["error"]["param"]) == (400, "monthly_spend_cap_usd")
    assert "The enterprise tier caps spend at $0.01 a month" in body["error"]["message"]
    path, secret = await _subscribe(client, own, receiver, account, ["usage.spend_cap_threshold"])
    # deepseek-v4: $0.50 / 1M prompt tokens, $1.50 / 1M completion tokens. 1 000 + 5 000 cost $0.008.
    tokens = {**account.bearer, "x-sim-prompt-tokens": "1000", "x-sim-completion-tokens": "5000"}
    assert (await chat(client, own.url, tokens, model="deepseek-v4", max_tokens=5_000))[0] == 200
    eighty = await _one_delivery(receiver, path, secret, "usage.spend_cap_threshold")
    assert eighty["data"] == {"threshold_percent": 80, "period": eighty["data"]["period"], "spent_usd": "0.008",
                              "monthly_spend_cap_usd": "0.01", "cap": "tier", "tier": "enterprise"}
    tokens["x-sim-completion-tokens"] = "1000"  # $0.002 more: the cap exactly
    assert (await chat(client, own.url, tokens, model="deepseek-v4", max_tokens=1_000))[0] == 200
    both = await receiver.wait_for(path, 2)
    assert signature_is_valid(secret, both[1])
    assert (both[1].event["data"]["threshold_percent"], both[1].event["data"]["spent_usd"]) == (100, "0.01")
    status, body, _ = await chat(client, own.url, account.bearer, model="deepseek-v4", max_tokens=10)
    assert (status, body["error"]["code"]) == (429, "spend_cap_reached")
    assert "the enterprise tier's monthly spend cap of $0.01" in body["error"]["message"]
    await asyncio.sleep(3)  # more looks of the spend watch must not notify again
    assert len(receiver.received[path]) == 2


async def test_events_reach_only_the_webhooks_of_their_own_account(client, own, receiver):
    alice, bob = await new_account(client, own.url, "alice"), await new_account(client, own.url, "bob")
    alice_path, _ = await _subscribe(client, own, receiver, alice, ["key.created"])
    bob_path, _ = await _subscribe(client, own, receiver, bob, ["key.created"])
    await create_key(client, own.url, alice)
    await receiver.wait_for(alice_path)
    await asyncio.sleep(1.5)  # three polls of the worker
    assert receiver.received[bob_path] == []


# --- retries and restarts -----------------------------------------------------------------------

async def test_a_receiver_failing_twice_gets_the_same_delivery_a_third_time(client, own, own_db, receiver):
    account = await new_account(client, own.url)
    path, secret = await _subscribe(client, own, receiver, account, ["key.created"])
    receiver.script(path, 500, 503)
    await create_key(client, own.url, account)
    tries = await receiver.wait_for(path, 3)
    assert len({t.headers["X-Clew-Delivery"] for t in tries}) == 1 and len({t.body for t in tries}) == 1
    assert all(signature_is_valid(secret, t) for t in tries)
    # Exponential backoff: the second wait is at least twice the first's configured minimum.
    assert tries[1].at - tries[0].at >= WEBHOOKS["backoff_seconds"]
    assert tries[2].at - tries[1].at >= 2 * WEBHOOKS["backoff_seconds"]
    delivery_id = tries[0].headers["X-Clew-Delivery"]
    await _eventually(lambda: _settled(own_db, delivery_id))
    attempts = await _attempts(own_db, delivery_id)
    assert [(a.attempt, a.status_code, a.succeeded) for a in attempts] == [(1, 500, False), (2, 503, False),
                                                                          (3, 200, True)]


async def _settled(engine, delivery_id: str) -> bool:
    return (await _delivery(engine, delivery_id)).status != "pending"


async def test_a_restart_of_the_control_plane_between_attempts_loses_nothing(client, own, own_db, receiver):
    account = await new_account(client, own.url)
    path, secret = await _subscribe(client, own, receiver, account, ["key.created"])
    receiver.answer_always(path, 500)
    key = await create_key(client, own.url, account)
    [first] = await receiver.wait_for(path)
    delivery_id = first.headers["X-Clew-Delivery"]
    await _eventually(lambda: _attempts(own_db, delivery_id))  # the failure is on record: between attempts
    await own.stop()  # every process, the control plane included
    failed = len(receiver.received[path])
    stopped_at = clock.now()
    receiver.answer_always(path, 200)
    await own.start()
    await _eventually(lambda: _settled(own_db, delivery_id), timeout=30)
    assert (await _delivery(own_db, delivery_id)).status == "delivered"
    last = receiver.received[path][-1]
    assert len(receiver.received[path]) == failed + 1 and last.headers["X-Clew-Delivery"] == delivery_id
    assert last.body == first.body and signature_is_valid(secret, last) and last.event["data"]["id"] == key["id"]
    attempts = await _attempts(own_db, delivery_id)
    assert not attempts[0].succeeded and attempts[-1].succeeded
    assert clock.as_utc(attempts[-1].started_at) > stopped_at
