"""API key scopes through Envoy: a default key calls the AI routes and reads; only a session or a
management key (which only a session can create) changes the account."""
import sqlalchemy as sa

from schemas.tables import api_keys, provider_keys, webhooks
from tests.e2e.billing import billing_row, tier_of
from tests.e2e.chat import chat
from tests.e2e.reports import landed
from tests.support.api import Account, call, create_key, new_account

PUBLIC_HOOK = "https://93.184.215.14/clew-hooks"  # an address literal: no DNS, never delivered to here


async def _key(client, base: str, account: Account, scope: str) -> dict:
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", json={"name": scope, "scope": scope},
                                 headers=account.bearer)
    assert status == 201 and body["scope"] == scope, body
    return body


def _as(key: dict) -> dict:
    return {"X-API-Key": key["key"]}


def _refused(status: int, body: dict) -> bool:
    error = body["error"]
    return status == 403 and error["type"] == "permission_error" and error["code"] == "insufficient_scope" \
        and set(error) == {"message", "type", "param", "code"}


async def _count(db, table, account_id: str, *where) -> int:
    async with db.connect() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table)
                                   .where(table.c.account_id == account_id, *where))).scalar_one()


async def test_a_new_key_has_the_default_scope_and_the_list_shows_it(client, base, db):
    account = await new_account(client, base)
    created = await create_key(client, base, account, "ci")
    _, listed, _ = await call(client, "GET", f"{base}/v1/keys", headers=account.bearer)
    async with db.connect() as conn:
        stored = (await conn.execute(sa.select(api_keys.c.scope).where(api_keys.c.id == created["id"]))).scalar_one()
    assert created["scope"] == listed["data"][0]["scope"] == stored == "default"


async def test_a_default_key_chats_and_reads_usage_profile_models_keys_and_invoices(client, gateway, db):
    account = await new_account(client, gateway.url)
    key = _as(await create_key(client, gateway.url, account))
    status, _, _ = await chat(client, gateway.url, {**key, "x-sim-prompt-tokens": "30",
                                                    "x-sim-completion-tokens": "12"}, model="deepseek-v4")
    assert status == 200
    await landed(db, account.id, 1)
    reads = {path: await call(client, "GET", f"{gateway.url}{path}", headers=key)
             for path in ("/v1/usage", "/v1/usage/daily", "/v1/auth/me", "/v1/models", "/v1/keys",
                          "/v1/billing/invoices", "/v1/webhooks", "/v1/provider-keys")}
    assert {path: status for path, (status, _, _) in reads.items()} == dict.fromkeys(reads, 200)
    assert reads["/v1/auth/me"][1]["id"] == account.id
    assert reads["/v1/usage"][1]["total_tokens"] == 42


async def test_a_default_key_cannot_create_a_key(client, base, db):
    account = await new_account(client, base)
    key = await create_key(client, base, account)
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", json={"name": "successor"}, headers=_as(key))
    assert _refused(status, body)
    assert await _count(db, api_keys, account.id) == 1


async def test_a_default_key_cannot_revoke_a_key(client, base, db):
    account = await new_account(client, base)
    key, other = await create_key(client, base, account, "leaked"), await create_key(client, base, account, "other")
    for target in (other, key):  # neither another key nor itself
        status, body, _ = await call(client, "DELETE", f"{base}/v1/keys/{target['id']}", headers=_as(key))
        assert _refused(status, body)
    assert await _count(db, api_keys, account.id, api_keys.c.revoked_at.is_(None)) == 2


async def test_a_default_key_cannot_add_a_webhook(client, base, db):
    account = await new_account(client, base)
    key = await create_key(client, base, account)
    status, body, _ = await call(client, "POST", f"{base}/v1/webhooks", headers=_as(key),
                                 json={"url": PUBLIC_HOOK, "events": ["key.created"]})
    assert _refused(status, body)
    assert await _count(db, webhooks, account.id) == 0


async def test_a_default_key_cannot_start_a_checkout(client, gateway, db):
    account = await new_account(client, gateway.url)
    key = await create_key(client, gateway.url, account)
    status, body, _ = await call(client, "POST", f"{gateway.url}/v1/billing/checkout", json={"tier": "pro"},
                                 headers=_as(key))
    assert _refused(status, body)
    assert await tier_of(db, account.id) == "free" and await billing_row(db, account.id) is None


async def test_a_default_key_cannot_store_a_provider_key(client, base, db):
    account = await new_account(client, base)
    key = await create_key(client, base, account)
    status, body, _ = await call(client, "POST", f"{base}/v1/provider-keys", headers=_as(key),
                                 json={"provider": "openai", "key": "sk-own-0123456789"})
    assert _refused(status, body)
    assert await _count(db, provider_keys, account.id) == 0


async def test_a_session_creates_a_management_key_that_can_change_the_account(client, gateway, db):
    account = await new_account(client, gateway.url)
    manager = _as(await _key(client, gateway.url, account, "management"))
    base = gateway.url
    made = await call(client, "POST", f"{base}/v1/keys", json={"name": "worker"}, headers=manager)
    revoked = await call(client, "DELETE", f"{base}/v1/keys/{made[1]['id']}", headers=manager)
    hook = await call(client, "POST", f"{base}/v1/webhooks", headers=manager,
                      json={"url": PUBLIC_HOOK, "events": ["key.revoked"]})
    byok = await call(client, "POST", f"{base}/v1/provider-keys", headers=manager,
                      json={"provider": "openai", "key": "sk-own-0123456789"})
    checkout = await call(client, "POST", f"{base}/v1/billing/checkout", json={"tier": "pro"}, headers=manager)
    assert [made[0], revoked[0], hook[0], byok[0], checkout[0]] == [201, 200, 201, 201, 200]
    assert made[1]["scope"] == "default" and checkout[1]["action"] == "checkout"
    assert await _count(db, webhooks, account.id) == 1 and await _count(db, provider_keys, account.id) == 1
    assert await _count(db, api_keys, account.id, api_keys.c.revoked_at.is_(None)) == 1  # the manager itself


async def test_a_key_cannot_create_a_management_key(client, base, db):
    account = await new_account(client, base)
    manager = _as(await _key(client, base, account, "management"))
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", json={"name": "x", "scope": "management"},
                                 headers=manager)
    assert _refused(status, body) and body["error"]["param"] == "scope"
    assert await _count(db, api_keys, account.id) == 1


async def test_an_unknown_scope_is_400(client, base, db):
    account = await new_account(client, base)
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", json={"name": "x", "scope": "admin"},
                                 headers=account.bearer)
    assert status == 400 and body["error"]["param"] == "scope" and body["error"]["type"] == "invalid_request_error"
    assert await _count(db, api_keys, account.id) == 0
