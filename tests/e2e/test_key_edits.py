"""Setting a key's limits (POST /v1/keys, PATCH /v1/keys/:id) through Envoy: what is stored, what is
refused (hostile values, other accounts' keys, scopes), and each key's last use and this month's usage
in GET /v1/keys and GET /v1/usage?key_id=. The key.updated event: test_webhook_delivery.py."""
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from schemas.tables import api_keys, usage_events
from tests.e2e.chat import chat, expected_cost
from tests.e2e.reports import landed
from tests.support.api import call, create_key, new_account

LIMITS = ("allowed_models", "monthly_budget_usd", "requests_per_minute", "expires_at")
# (raw JSON body, the param the 400 names): wrong types, out of range, NaN, huge, too precise, past, unknown.
HOSTILE = [
    (b'{"requests_per_minute": 0}', "requests_per_minute"),
    (b'{"requests_per_minute": -3}', "requests_per_minute"),
    (b'{"requests_per_minute": 11}', "requests_per_minute"),  # the free tier allows 10
    (b'{"requests_per_minute": 1.5}', "requests_per_minute"),
    (b'{"requests_per_minute": true}', "requests_per_minute"),
    (b'{"requests_per_minute": "5"}', "requests_per_minute"),
    (b'{"requests_per_minute": 1000000000000000000000000000000}', "requests_per_minute"),
    (b'{"monthly_budget_usd": -1}', "monthly_budget_usd"),
    (b'{"monthly_budget_usd": -0.000000001}', "monthly_budget_usd"),
    (b'{"monthly_budget_usd": 1e400}', "monthly_budget_usd"),
    (b'{"monthly_budget_usd": 1e-999999999}', "monthly_budget_usd"),
    (b'{"monthly_budget_usd": 0.0000000001}', "monthly_budget_usd"),
    (b'{"monthly_budget_usd": 10000000.5}', "monthly_budget_usd"),
    (b'{"monthly_budget_usd": "ten"}', "monthly_budget_usd"),
    (b'{"monthly_budget_usd": "1e5"}', "monthly_budget_usd"),
    (b'{"monthly_budget_usd": true}', "monthly_budget_usd"),
    (b'{"monthly_budget_usd": [1]}', "monthly_budget_usd"),
    (b'{"expires_at": "2000-01-01T00:00:00Z"}', "expires_at"),
    (b'{"expires_at": "2999-01-01T00:00:00"}', "expires_at"),  # no zone
    (b'{"expires_at": "9999-12-31T23:59:59-14:00"}', "expires_at"),  # beyond year 9999 in UTC
    (b'{"expires_at": "tomorrow"}', "expires_at"),
    (b'{"expires_at": 1893456000}', "expires_at"),
    (b'{"allowed_models": []}', "allowed_models"),
    (b'{"allowed_models": "deepseek-v4"}', "allowed_models"),
    (b'{"allowed_models": ["no-such-model"]}', "allowed_models"),
    (b'{"allowed_models": ["deepseek v4"]}', "allowed_models"),
    (b'{"allowed_models": [1]}', "allowed_models"),
    (b'{"scope": "admin"}', "scope"),
    (b'{"name": 5}', "name"),
    (b'{"name": null}', "name"),
    (b'{"budget": 5}', "budget"),
]


def _view_limits(key: dict) -> dict:
    return {name: key[name] for name in LIMITS}


async def _stored(db, key_id: str):
    async with db.connect() as conn:
        return (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).one()


async def test_limits_set_at_creation_are_stored_exactly_and_listed(client, base, db):
    account = await new_account(client, base, "limits")
    status, created, _ = await call(client, "POST", f"{base}/v1/keys", headers=account.bearer, data=(
        b'{"name": "ci", "allowed_models": ["deepseek-*", "clew/free"], "monthly_budget_usd": 12.345678901,'
        b' "requests_per_minute": 4, "expires_at": "2999-01-01T00:00:00+02:00"}'))
    assert status == 201, created
    assert _view_limits(created) == {"allowed_models": ["deepseek-*", "clew/free"],
                                     "monthly_budget_usd": "12.345678901", "requests_per_minute": 4,
                                     "expires_at": "2998-12-31T22:00:00Z"}
    assert created["last_used_at"] is None and created["usage"]["requests"] == 0
    row = await _stored(db, created["id"])
    assert row.monthly_budget_nanos == 12_345_678_901 and json.loads(row.allowed_models) == ["deepseek-*", "clew/free"]
    _, listed, _ = await call(client, "GET", f"{base}/v1/keys", headers=account.bearer)
    assert _view_limits(listed["data"][0]) == _view_limits(created)


async def test_patch_changes_only_what_it_names_and_null_removes_a_limit(client, base, db):
    account = await new_account(client, base, "patch")
    key = await create_key(client, base, account, "tool")
    url = f"{base}/v1/keys/{key['id']}"
    status, body, _ = await call(client, "PATCH", url, headers=account.bearer,
                                 json={"monthly_budget_usd": "0.1", "requests_per_minute": 10, "name": "tool 2"})
    assert status == 200 and (body["name"], body["monthly_budget_usd"], body["requests_per_minute"]) == (
        "tool 2", "0.1", 10)
    status, body, _ = await call(client, "PATCH", url, headers=account.bearer, json={"requests_per_minute": None})
    assert status == 200 and (body["monthly_budget_usd"], body["requests_per_minute"]) == ("0.1", None)
    row = await _stored(db, key["id"])
    assert (row.name, row.monthly_budget_nanos, row.requests_per_minute) == ("tool 2", 100_000_000, None)


async def test_hostile_values_are_refused_naming_the_field_and_change_nothing(client, base, db):
    account = await new_account(client, base, "hostile")
    key = await create_key(client, base, account, "target")
    before = await _stored(db, key["id"])
    for raw, param in HOSTILE:
        creating = () if raw == b'{"name": null}' else (("POST", f"{base}/v1/keys"),)  # a new key's default name
        for method, url in (("PATCH", f"{base}/v1/keys/{key['id']}"), *creating):
            status, body, _ = await call(client, method, url, data=raw, headers=account.bearer)
            assert (status, body["error"]["param"]) == (400, param), (method, raw, body)
            assert body["error"]["type"] == "invalid_request_error" and body["error"]["message"]
    status, body, _ = await call(client, "PATCH", f"{base}/v1/keys/{key['id']}", headers=account.bearer,
                                 json={"requests_per_minute": 11})
    assert "free tier allows 10 requests per minute" in body["error"]["message"]
    for raw in (b"{}", b"[]", b'{"monthly_budget_usd": NaN}', b'{"monthly_budget_usd": Infinity}'):
        status, body, _ = await call(client, "PATCH", f"{base}/v1/keys/{key['id']}", data=raw, headers=account.bearer)
        assert status == 400, (raw, body)
    assert await _stored(db, key["id"]) == before
    _, listed, _ = await call(client, "GET", f"{base}/v1/keys", headers=account.bearer)
    assert [k["id"] for k in listed["data"]] == [key["id"]]  # no refused POST made a key


async def test_another_accounts_revoked_or_unknown_key_is_404(client, base):
    alice, bob = await new_account(client, base, "alice"), await new_account(client, base, "bob")
    bobs, revoked = await create_key(client, base, bob), await create_key(client, base, alice)
    await call(client, "DELETE", f"{base}/v1/keys/{revoked['id']}", headers=alice.bearer)
    for key_id in (bobs["id"], revoked["id"], "key_nope", "x" * 300):
        status, body, _ = await call(client, "PATCH", f"{base}/v1/keys/{key_id}", headers=alice.bearer,
                                     json={"requests_per_minute": 1})
        assert (status, body["error"]["code"]) == (404, "key_not_found"), key_id


@pytest.mark.parametrize("scope", ["default", "management"])
async def test_only_a_session_grants_management_or_changes_a_management_key(client, base, scope):
    account = await new_account(client, base, "scopes")
    status, manager, _ = await call(client, "POST", f"{base}/v1/keys", headers=account.bearer,
                                    json={"name": "deployer", "scope": "management"})
    target = manager if scope == "management" else await create_key(client, base, account, "worker")
    as_manager = {"X-API-Key": manager["key"]}
    change = {"scope": "management"} if scope == "default" else {"expires_at": None}
    status, body, _ = await call(client, "PATCH", f"{base}/v1/keys/{target['id']}", headers=as_manager, json=change)
    assert (status, body["error"]["code"]) == (403, "insufficient_scope")
    status, body, _ = await call(client, "PATCH", f"{base}/v1/keys/{target['id']}", headers=account.bearer, json=change)
    assert status == 200, body
    if scope == "default":  # a management key may still limit a default key
        worker = await create_key(client, base, account, "worker 2")
        status, body, _ = await call(client, "PATCH", f"{base}/v1/keys/{worker['id']}", headers=as_manager,
                                     json={"requests_per_minute": 3})
        assert (status, body["requests_per_minute"]) == (200, 3)


async def test_each_keys_last_use_and_usage_this_month_come_from_the_ledger(client, gateway, db):
    base = gateway.url
    account = await new_account(client, base, "usage")
    first, second = await create_key(client, base, account, "first"), await create_key(client, base, account, "second")
    tokens = {"x-sim-prompt-tokens": "100", "x-sim-completion-tokens": "20"}
    for headers in ({"X-API-Key": first["key"]}, {"X-API-Key": first["key"]}, {"X-API-Key": second["key"]},
                    account.bearer):
        assert (await chat(client, base, {**headers, **tokens}, model="deepseek-v4"))[0] == 200
    await landed(db, account.id, 4)
    _, listed, _ = await call(client, "GET", f"{base}/v1/keys", headers=account.bearer)
    by_name = {k["name"]: k for k in listed["data"]}
    cost, usage = expected_cost(gateway, "deepseek-v4", 100, 20), by_name["first"]["usage"]
    assert usage | {"period": "", "cost_usd": ""} == {"period": "", "requests": 2, "prompt_tokens": 200,
                                                     "completion_tokens": 40, "total_tokens": 240, "cost_usd": ""}
    assert Decimal(usage["cost_usd"]) == 2 * cost and usage["period"] == listed["data"][0]["created_at"][:7]
    assert by_name["second"]["usage"]["requests"] == 1
    async with db.connect() as conn:
        latest = (await conn.execute(sa.select(sa.func.max(usage_events.c.created_at)).where(
            usage_events.c.key_id == first["id"]))).scalar()
    assert by_name["first"]["last_used_at"] is not None and by_name["first"]["last_used_at"] >= first["created_at"]
    assert by_name["first"]["last_used_at"][:19] == latest.isoformat()[:19]
    status, report, _ = await call(client, "GET", f"{base}/v1/usage", params={"key_id": first["id"]},
                                   headers=account.bearer)
    assert status == 200 and (report["key_id"], report["requests"], report["total_tokens"]) == (first["id"], 2, 240)
    assert Decimal(report["cost_usd"]) == 2 * cost and report["quota"]["used_tokens"] == 480  # the account's
    _, whole, _ = await call(client, "GET", f"{base}/v1/usage", headers=account.bearer)
    assert whole["requests"] == 4 and "key_id" not in whole


async def test_usage_of_an_unknown_or_another_accounts_key_is_404(client, base):
    alice, bob = await new_account(client, base, "alice"), await new_account(client, base, "bob")
    bobs = await create_key(client, base, bob)
    for key_id in (bobs["id"], "key_nope", "k" * 100):
        status, body, _ = await call(client, "GET", f"{base}/v1/usage", params={"key_id": key_id},
                                     headers=alice.bearer)
        assert (status, body["error"]["code"], body["error"]["param"]) == (404, "key_not_found", "key_id")
