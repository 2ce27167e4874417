"""GET/POST /v1/keys and DELETE /v1/keys/:id through Envoy."""
import asyncio
import hashlib

import sqlalchemy as sa

from schemas.tables import api_keys
from tests.support.api import call, create_key, new_account


async def test_created_key_is_returned_in_full_once(client, base):
    account = await new_account(client, base)
    created = await create_key(client, base, account, "ci")
    assert created["key"].startswith("sk-clew-") and len(created["key"]) >= len("sk-clew-") + 43
    assert created["name"] == "ci" and created["masked"].endswith(created["key"][-4:])
    _, listed, _ = await call(client, "GET", f"{base}/v1/keys", headers=account.bearer)
    assert created["key"] not in str(listed)


async def test_key_is_stored_as_sha256_with_prefix_and_last4(client, base, db):
    account = await new_account(client, base)
    created = await create_key(client, base, account)
    async with db.connect() as conn:
        row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == created["id"]))).one()
    assert row.key_hash == hashlib.sha256(created["key"].encode()).hexdigest()
    assert row.last4 == created["key"][-4:] and created["key"].startswith(row.prefix)
    assert created["key"] not in [str(v) for v in row]


async def test_list_shows_the_masked_keys_of_the_caller_only(client, base):
    alice, bob = await new_account(client, base, "alice"), await new_account(client, base, "bob")
    mine = await create_key(client, base, alice, "a")
    await create_key(client, base, bob, "b")
    status, body, _ = await call(client, "GET", f"{base}/v1/keys", headers=alice.bearer)
    assert status == 200 and body["object"] == "list"
    assert [k["id"] for k in body["data"]] == [mine["id"]]
    assert body["data"][0]["masked"] == mine["masked"] and "key" not in body["data"][0]


async def test_create_without_body_uses_a_default_name(client, base):
    account = await new_account(client, base)
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", headers=account.bearer)
    assert status == 201 and body["name"] == "default"


async def test_create_with_non_string_name_is_400(client, base):
    account = await new_account(client, base)
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", json={"name": 42}, headers=account.bearer)
    assert status == 400 and body["error"]["param"] == "name"


async def test_keys_without_credentials_is_401(client, base):
    status, body, _ = await call(client, "POST", f"{base}/v1/keys", json={})
    assert status == 401 and body["error"]["type"] == "invalid_request_error"


async def test_revoked_key_is_refused_within_one_second(client, base):
    account = await new_account(client, base)
    created = await create_key(client, base, account)
    as_key = {"X-API-Key": created["key"]}
    for _ in range(4):  # warm both sidecar processes' caches
        assert (await call(client, "GET", f"{base}/v1/auth/me", headers=as_key))[0] == 200
    status, body, _ = await call(client, "DELETE", f"{base}/v1/keys/{created['id']}", headers=account.bearer)
    assert status == 200 and body["revoked"] is True
    loop = asyncio.get_running_loop()
    deadline, refusals_in_a_row = loop.time() + 1.0, 0
    while refusals_in_a_row < 4:  # four in a row: every sidecar process has dropped it
        status = (await call(client, "GET", f"{base}/v1/auth/me", headers=as_key))[0]
        refusals_in_a_row = refusals_in_a_row + 1 if status == 401 else 0
        assert loop.time() < deadline, "revoked key still accepted after one second"


async def test_revoked_key_disappears_from_the_list(client, base):
    account = await new_account(client, base)
    created = await create_key(client, base, account)
    await call(client, "DELETE", f"{base}/v1/keys/{created['id']}", headers=account.bearer)
    _, body, _ = await call(client, "GET", f"{base}/v1/keys", headers=account.bearer)
    assert created["id"] not in [k["id"] for k in body["data"]]


async def test_revoking_another_accounts_key_is_404_and_leaves_it_working(client, base):
    alice, mallory = await new_account(client, base, "alice"), await new_account(client, base, "mallory")
    key = await create_key(client, base, alice)
    status, body, _ = await call(client, "DELETE", f"{base}/v1/keys/{key['id']}", headers=mallory.bearer)
    assert status == 404 and body["error"]["code"] == "key_not_found"
    assert (await call(client, "GET", f"{base}/v1/auth/me", headers={"X-API-Key": key["key"]}))[0] == 200


async def test_revoking_an_unknown_key_is_404(client, base):
    account = await new_account(client, base)
    status, _, _ = await call(client, "DELETE", f"{base}/v1/keys/key_doesnotexist", headers=account.bearer)
    assert status == 404


async def test_revoking_twice_is_404(client, base):
    account = await new_account(client, base)
    key = await create_key(client, base, account)
    await call(client, "DELETE", f"{base}/v1/keys/{key['id']}", headers=account.bearer)
    status, _, _ = await call(client, "DELETE", f"{base}/v1/keys/{key['id']}", headers=account.bearer)
    assert status == 404
