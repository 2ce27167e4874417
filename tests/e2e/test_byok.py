"""Bring your own key, through Envoy: stored sealed and masked, used for its provider, priced at the
platform fee (0 % in the shipped gateway.yaml), and its rejection reported as such.

A non-zero fee is priced in tests/plugins/test_byok.py (the same code path, config to ledger), so
that these tests run on the shared gateways instead of starting two more with an edited config.
"""
import asyncio
import hashlib
import uuid

import openai
import pytest
import sqlalchemy as sa

from schemas.sealed_keys import SealBroken, Sealed, sealer_from
from schemas.tables import provider_keys
from schemas.upstreams import SIMULATED_KEY
from tests.e2e.chat import HELLO, account_on_tier, ledger_entry, sdk, simulator_ledger
from tests.support.api import call, new_account
from tests.support.ledger import ledger_rows

PROVIDER_KEYS = "/v1/provider-keys"


def own_key(tag: str = "sk-own") -> str:
    return f"{tag}-{uuid.uuid4().hex}"


def fingerprint(key: str) -> str:
    """How the simulator's ledger names the key a request came with."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


async def store_key(client, base, account, provider: str, key: str) -> dict:
    status, body, _ = await call(client, "POST", f"{base}{PROVIDER_KEYS}", json={"provider": provider, "key": key},
                                 headers=account.bearer)
    assert status == 201, body
    return body


async def listed(client, base, account) -> list[dict]:
    status, body, _ = await call(client, "GET", f"{base}{PROVIDER_KEYS}", headers=account.bearer)
    assert status == 200, body
    return body["data"]


# --- the API --------------------------------------------------------------------------------------

async def test_stored_key_is_answered_masked_and_never_returned(client, base):
    account = await new_account(client, base)
    key = own_key()
    created = await store_key(client, base, account, "openai", key)
    assert created["provider"] == "openai" and created["masked"] == f"...{key[-4:]}"
    assert created["id"].startswith("pk_") and created["created_at"].endswith("Z")
    assert await listed(client, base, account) == [created]
    assert key not in str(created)


async def test_storing_a_key_again_replaces_it(client, base):
    account = await new_account(client, base)
    await store_key(client, base, account, "groq", own_key())
    second = await store_key(client, base, account, "groq", own_key())
    assert await listed(client, base, account) == [second]


async def test_keys_of_several_providers_are_listed_by_provider(client, base):
    account = await new_account(client, base)
    await store_key(client, base, account, "openai", own_key())
    await store_key(client, base, account, "deepseek", own_key())
    assert [k["provider"] for k in await listed(client, base, account)] == ["deepseek", "openai"]


async def test_unknown_provider_is_a_400_naming_provider(client, base):
    account = await new_account(client, base)
    status, body, _ = await call(client, "POST", f"{base}{PROVIDER_KEYS}",
                                 json={"provider": "nosuch", "key": own_key()}, headers=account.bearer)
    assert status == 400 and body["error"]["param"] == "provider"


async def test_bad_key_is_a_400_naming_key(client, base):
    account = await new_account(client, base)
    for key in ["", "   ", "x" * 501, 12345, None, "two words", "line\nbreak"]:
        status, body, _ = await call(client, "POST", f"{base}{PROVIDER_KEYS}", json={"provider": "openai", "key": key},
                                     headers=account.bearer)
        assert (status, body["error"]["param"]) == (400, "key"), key
    assert await listed(client, base, account) == []


async def test_provider_keys_need_credentials(client, base):
    status, body, _ = await call(client, "GET", f"{base}{PROVIDER_KEYS}")
    assert status == 401 and body["error"]["type"] == "invalid_request_error"


async def test_deleted_key_is_gone_and_deleting_again_is_404(client, base):
    account = await new_account(client, base)
    await store_key(client, base, account, "mistral", own_key())
    status, body, _ = await call(client, "DELETE", f"{base}{PROVIDER_KEYS}/mistral", headers=account.bearer)
    assert status == 200 and body["deleted"] is True and await listed(client, base, account) == []
    status, body, _ = await call(client, "DELETE", f"{base}{PROVIDER_KEYS}/mistral", headers=account.bearer)
    assert status == 404 and body["error"]["code"] == "provider_key_not_found"


async def test_another_account_can_neither_see_nor_delete_a_key(client, base):
    alice, mallory = await new_account(client, base, "alice"), await new_account(client, base, "mallory")
    stored = await store_key(client, base, alice, "openai", own_key())
    assert await listed(client, base, mallory) == []
    status, _, _ = await call(client, "DELETE", f"{base}{PROVIDER_KEYS}/openai", headers=mallory.bearer)
    assert status == 404 and await listed(client, base, alice) == [stored]


# --- requests with the account's own key ------------------------------------------------------------

async def test_completion_goes_to_the_provider_with_the_accounts_own_key(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    key = own_key()
    await store_key(client, gateway.url, account, "deepseek", key)
    raw = await sdk(gateway.url, account.token).chat.completions.with_raw_response.create(
        model="deepseek-v4-pro", messages=HELLO)
    served = await ledger_entry(client, gateway, raw.parse().id)
    assert raw.headers["x-key-source"] == "byok" and served["key_sha256"] == fingerprint(key)


async def test_byok_completion_costs_the_platform_fee_of_zero_and_is_in_the_ledger(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    await store_key(client, gateway.url, account, "deepseek", own_key())
    raw = await sdk(gateway.url, account.token).chat.completions.with_raw_response.create(
        model="deepseek-v4-pro", messages=HELLO, extra_headers={"x-sim-prompt-tokens": "1000"})
    [row] = await ledger_rows(db, account.id, expect=1)
    assert raw.headers["x-cost-usd"] == "0"
    assert (row.key_source, row.cost_nanos, row.prompt_tokens, row.status) == ("byok", 0, 1000, 200)


async def test_byok_stream_ends_with_a_cost_of_zero(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    await store_key(client, gateway.url, account, "mistral", own_key())
    stream = await sdk(gateway.url, account.token).chat.completions.create(
        model="mistral/large", messages=HELLO, stream=True, stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    assert chunks[-1].usage.completion_tokens > 0 and chunks[-1].usage.model_extra["cost_usd"] == "0"


async def test_other_providers_still_use_the_pool_key(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    await store_key(client, gateway.url, account, "deepseek", own_key())
    raw = await sdk(gateway.url, account.token).chat.completions.with_raw_response.create(
        model="gpt-5.5", messages=HELLO)
    served = await ledger_entry(client, gateway, raw.parse().id)
    assert raw.headers["x-key-source"] == "pool" and served["key_sha256"] == fingerprint(SIMULATED_KEY)
    assert raw.headers["x-cost-usd"] != "0"


async def _key_source(api) -> str:
    raw = await api.chat.completions.with_raw_response.create(model="groq/llama4", messages=HELLO)
    return raw.headers["x-key-source"]


async def test_deleting_the_key_returns_to_the_pool_within_one_second(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    api = sdk(gateway.url, account.token)
    await store_key(client, gateway.url, account, "groq", own_key())
    for _ in range(4):  # every sidecar process has the key cached
        assert await _key_source(api) == "byok"
    status, _, _ = await call(client, "DELETE", f"{gateway.url}{PROVIDER_KEYS}/groq", headers=account.bearer)
    assert status == 200
    loop = asyncio.get_running_loop()
    deadline, pool_in_a_row = loop.time() + 1.0, 0
    while pool_in_a_row < 4:  # four in a row: every sidecar process has dropped it
        pool_in_a_row = pool_in_a_row + 1 if await _key_source(api) == "pool" else 0
        assert loop.time() < deadline, "the deleted key was still used after one second"


async def test_key_stored_after_the_first_request_is_used_within_one_second(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    api = sdk(gateway.url, account.token)
    for _ in range(4):  # every sidecar process has cached "no key of its own"
        assert await _key_source(api) == "pool"
    await store_key(client, gateway.url, account, "groq", own_key())
    loop = asyncio.get_running_loop()
    deadline, byok_in_a_row = loop.time() + 1.0, 0
    while byok_in_a_row < 4:
        byok_in_a_row = byok_in_a_row + 1 if await _key_source(api) == "byok" else 0
        assert loop.time() < deadline, "the stored key was not used after one second"


async def test_a_router_attempt_on_a_provider_with_the_accounts_own_key_uses_it(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    keys = {provider: own_key() for provider in ("groq", "nvidia", "mistral")}  # every clew/free candidate
    for provider, key in keys.items():
        await store_key(client, gateway.url, account, provider, key)
    raw = await sdk(gateway.url, account.token).chat.completions.with_raw_response.create(
        model="clew/free", messages=HELLO)
    served = await ledger_entry(client, gateway, raw.parse().id)
    assert raw.headers["x-key-source"] == "byok" and served["key_sha256"] == fingerprint(keys[served["provider"]])
    assert "x-clew-key-source" not in raw.headers and "x-clew-account" not in raw.headers
    [row] = await ledger_rows(db, account.id, expect=1)
    assert (row.key_source, row.model, row.cost_nanos) == ("byok", raw.headers["x-clew-model"], 0)


async def test_a_router_attempt_without_an_own_key_stays_on_the_pool(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    await store_key(client, gateway.url, account, "deepseek", own_key())  # not a clew/free candidate
    raw = await sdk(gateway.url, account.token).chat.completions.with_raw_response.create(
        model="clew/free", messages=HELLO)
    served = await ledger_entry(client, gateway, raw.parse().id)
    assert raw.headers["x-key-source"] == "pool" and served["key_sha256"] == fingerprint(SIMULATED_KEY)


async def test_rejected_own_key_is_a_401_and_never_retried_with_the_pool_key(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    key = own_key("invalid")  # the simulator refuses keys starting with "invalid"
    await store_key(client, gateway.url, account, "deepseek", key)
    with pytest.raises(openai.AuthenticationError) as raised:
        await sdk(gateway.url, account.token).chat.completions.create(model="deepseek-v4", messages=HELLO)
    error = raised.value
    assert error.code == "byok_key_rejected" and "deepseek" in error.message
    assert error.response.headers["x-key-source"] == "byok"
    attempts = [e for e in await simulator_ledger(client, gateway, provider="deepseek")
                if e["key_sha256"] == fingerprint(key)]
    assert [e["status"] for e in attempts] == [401]
    [row] = await ledger_rows(db, account.id, expect=1)
    assert (row.status, row.key_source, row.cost_nanos) == (401, "byok", 0)


# --- the key at rest and in logs ---------------------------------------------------------------------

async def test_stored_key_is_unreadable_in_the_database(client, gateway, db):
    account = await new_account(client, gateway.url)
    key = own_key()
    await store_key(client, gateway.url, account, "openai", key)
    async with db.connect() as conn:
        row = (await conn.execute(sa.select(provider_keys).where(provider_keys.c.account_id == account.id))).one()
    stored = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    assert key[:-4].encode() not in stored
    # The embedded database's files, as anyone who copies them would read them.
    files = [p for p in gateway.home.iterdir() if p.name.startswith("clew.db")]
    assert all(key[:-4].encode() not in p.read_bytes() for p in files)
    sealer, sealed = sealer_from(gateway.secrets["CLEW_BYOK_KEY"]), Sealed(row.nonce, row.ciphertext)
    assert sealer.open(sealed, account.id, "openai") == key  # sealed under the gateway's own key...
    with pytest.raises(SealBroken):
        sealer.open(sealed, "acct_someone_else", "openai")  # ...and bound to its account


async def test_own_key_never_appears_in_the_logs(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    keys = {"deepseek": own_key(), "openai": own_key("invalid")}
    for provider, key in keys.items():
        await store_key(client, gateway.url, account, provider, key)
    api = sdk(gateway.url, account.token)
    await api.chat.completions.create(model="deepseek-v4", messages=HELLO)
    with pytest.raises(openai.AuthenticationError):
        await api.chat.completions.create(model="gpt-5.5", messages=HELLO)
    await ledger_rows(db, account.id, expect=2)  # the requests are over and logged
    logs = [gateway.log_path, *(gateway.home / "log").glob("*")]
    assert not [p for p in logs if p.is_file() and any(k in p.read_text(errors="replace") for k in keys.values())]
