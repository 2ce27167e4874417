"""Bad requests, limits and provider failures on /v1/chat/completions: OpenAI-shaped, never a 500."""
import asyncio

import aiohttp
import pytest
import sqlalchemy as sa

from schemas.tables import usage_events
from tests.e2e.chat import HELLO, chat, data_of, ledger_entry, stream_events
from tests.e2e.reports import landed
from tests.support.api import call, create_key, new_account


def _openai_error(body: dict) -> dict:
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


async def test_fifty_concurrent_requests_on_a_ten_per_minute_account_admit_exactly_ten(client, gateway):
    account = await new_account(client, gateway.url)
    results = await asyncio.gather(*(chat(client, gateway.url, account.bearer, model="deepseek-v4") for _ in range(50)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] * 10 + [429] * 40
    remaining = sorted(int(headers["x-ratelimit-remaining"]) for _, _, headers in results)
    assert remaining == [0] * 41 + list(range(1, 10))


@pytest.mark.parametrize("body, param", [
    ({"messages": HELLO}, "model"),
    ({"model": "deepseek-v4"}, "messages"),
    ({"model": 42, "messages": HELLO}, "model"),
    ({"model": "deepseek-v4", "messages": []}, "messages"),
    ({"model": "deepseek-v4", "messages": [{"content": "no role"}]}, "messages[0].role"),
    ({"model": "deepseek-v4", "messages": HELLO, "stream": "yes"}, "stream"),
    ({"model": "deepseek-v4", "messages": HELLO, "max_tokens": -1}, "max_tokens"),
])
async def test_malformed_request_is_400_naming_the_parameter(client, base, body, param):
    account = await new_account(client, base)
    status, response, _ = await call(client, "POST", f"{base}/v1/chat/completions", json=body, headers=account.bearer)
    assert status == 400 and _openai_error(response)["param"] == param


@pytest.mark.parametrize("raw", [b"{", b"[]", b"\xff\xfe", b""])
async def test_unparseable_body_is_400(client, base, raw):
    account = await new_account(client, base)
    status, body, _ = await call(client, "POST", f"{base}/v1/chat/completions", data=raw, headers=account.bearer)
    assert status == 400 and _openai_error(body)["type"] == "invalid_request_error"


async def test_unknown_model_is_404_with_rate_limit_headers(client, base):
    account = await new_account(client, base)
    status, body, headers = await chat(client, base, account.bearer, model="nope")
    assert status == 404 and _openai_error(body)["code"] == "model_not_found"
    assert headers["x-ratelimit-limit"] == "10" and headers["X-Tier"] == "free"


async def test_without_credentials_is_401(client, base):
    status, body, _ = await chat(client, base, {}, model="deepseek-v4")
    assert status == 401 and _openai_error(body)["code"] == "missing_api_key"


async def test_revoked_key_is_refused(client, base):
    account = await new_account(client, base)
    key = await create_key(client, base, account)
    assert (await chat(client, base, {"X-API-Key": key["key"]}, model="deepseek-v4"))[0] == 200
    await call(client, "DELETE", f"{base}/v1/keys/{key['id']}", headers=account.bearer)
    await asyncio.sleep(1.0)
    status, body, _ = await chat(client, base, {"X-API-Key": key["key"]}, model="deepseek-v4")
    assert status == 401 and _openai_error(body)["code"] == "invalid_api_key"


async def test_spoofed_gateway_headers_change_nothing(client, gateway):
    account = await new_account(client, gateway.url)
    spoofed = {**account.bearer, "x-clew-provider": "openai", "x-clew-tier": "enterprise",
               "x-clew-account-id": "acct_someone_else"}
    status, body, headers = await chat(client, gateway.url, spoofed, model="groq/llama4")
    assert status == 200 and headers["X-Tier"] == "free" and headers["x-ratelimit-limit"] == "10"
    assert (await ledger_entry(client, gateway, body["id"]))["provider"] == "groq"


async def test_provider_5xx_becomes_502(client, base):
    account = await new_account(client, base)
    status, body, _ = await chat(client, base, {**account.bearer, "x-sim-status": "503"}, model="deepseek-v4")
    assert status == 502 and _openai_error(body)["code"] == "upstream_error"


async def test_provider_429_keeps_its_status_message_and_retry_after(client, base):
    account = await new_account(client, base)
    status, body, headers = await chat(client, base, {**account.bearer, "x-sim-status": "429",
                                                      "x-sim-retry-after": "17"}, model="deepseek-v4")
    assert status == 429 and headers["retry-after"] == "17"
    assert _openai_error(body)["code"] == "rate_limit_exceeded" and body["error"]["message"]


async def test_provider_400_keeps_its_status_and_message(client, base):
    account = await new_account(client, base)
    status, body, _ = await chat(client, base, {**account.bearer, "x-sim-status": "400"}, model="deepseek-v4")
    assert status == 400 and _openai_error(body)["message"]


async def test_stream_cut_by_the_provider_ends_with_an_error_event(client, base):
    account = await new_account(client, base)
    status, events, _ = await stream_events(client, base, {**account.bearer, "x-sim-disconnect-after": "3"},
                                            model="deepseek-v4")
    assert status == 200 and b"data: [DONE]" not in events
    assert data_of(events)[-1]["error"]["code"] == "upstream_disconnected"


async def test_stream_reset_by_the_provider_fails_the_clients_stream_and_is_recorded_incomplete(client, gateway, db):
    # Envoy cannot write to a response whose upstream connection was reset after its headers went out: it
    # resets the client's stream too, which every HTTP client reports; it never looks like a complete stream.
    account = await new_account(client, gateway.url)
    headers = {**account.bearer, "x-sim-reset-after": "2", "x-sim-chunk-interval-ms": "300"}
    async with client.post(f"{gateway.url}/v1/chat/completions", headers=headers,
                           json={"model": "deepseek-v4", "messages": HELLO, "stream": True}) as response:
        assert response.status == 200
        assert (await response.content.readuntil(b"\n\n")).startswith(b"data: {")  # the stream had begun
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    await landed(db, account.id, 1)
    async with db.connect() as conn:
        status = (await conn.execute(sa.select(usage_events.c.status)
                                     .where(usage_events.c.account_id == account.id))).scalar_one()
    assert status == 499


async def test_get_is_405(client, base):
    account = await new_account(client, base)
    status, body, headers = await call(client, "GET", f"{base}/v1/chat/completions", headers=account.bearer)
    assert status == 405 and _openai_error(body)["code"] == "method_not_allowed" and headers["allow"] == "POST"
