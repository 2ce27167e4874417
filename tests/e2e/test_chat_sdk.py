"""POST /v1/chat/completions through Envoy with the official OpenAI SDK, as customers call it."""
import hashlib

import openai
import pytest

from tests.e2e.chat import HELLO, account_on_tier, ledger_entry, sdk
from tests.support.api import create_key, new_account


async def test_completion_with_session_token(client, base):
    account = await new_account(client, base)
    completion = await sdk(base, account.token).chat.completions.create(model="deepseek-v4-pro", messages=HELLO)
    assert completion.choices[0].message.content and completion.usage.total_tokens > 0


async def test_completion_with_api_key(client, base):
    account = await new_account(client, base)
    key = await create_key(client, base, account)
    completion = await sdk(base, key["key"]).chat.completions.create(model="deepseek-v4-pro", messages=HELLO)
    assert completion.object == "chat.completion" and completion.choices[0].finish_reason == "stop"


async def test_stream_with_api_key_carries_usage_and_cost(client, base):
    account = await new_account(client, base)
    key = await create_key(client, base, account)
    stream = await sdk(base, key["key"]).chat.completions.create(
        model="deepseek-v4-pro", messages=HELLO, stream=True, stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert chunks[-1].usage.model_extra["cost_usd"]


async def test_stream_with_session_token(client, base):
    account = await new_account(client, base)
    stream = await sdk(base, account.token).chat.completions.create(model="mistral/large", messages=HELLO, stream=True)
    chunks = [chunk async for chunk in stream]
    assert chunks and all(c.usage is None for c in chunks)  # not asked for: the usage chunk is removed


async def test_headers_of_the_contract_are_on_the_response(client, base):
    account = await new_account(client, base)
    raw = await sdk(base, account.token).chat.completions.with_raw_response.create(model="deepseek-v4", messages=HELLO)
    assert raw.headers["x-ratelimit-limit"] == "10" and raw.headers["x-ratelimit-remaining"] == "9"
    assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
    assert raw.headers["x-tier"] == "free" and raw.headers["x-key-source"] == "pool"
    assert float(raw.headers["x-cost-usd"]) > 0


async def test_eleventh_free_request_in_a_minute_is_a_rate_limit_error(client, base):
    account = await new_account(client, base)
    api = sdk(base, account.token)
    for _ in range(10):
        await api.chat.completions.create(model="deepseek-v4", messages=HELLO)
    with pytest.raises(openai.RateLimitError) as raised:
        await api.chat.completions.create(model="deepseek-v4", messages=HELLO)
    response = raised.value.response
    assert raised.value.code == "rate_limit_exceeded"
    assert response.headers["x-ratelimit-remaining"] == "0" and response.headers["x-ratelimit-limit"] == "10"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_unknown_model_is_not_found(client, base):
    account = await new_account(client, base)
    with pytest.raises(openai.NotFoundError) as raised:
        await sdk(base, account.token).chat.completions.create(model="gpt-99", messages=HELLO)
    assert raised.value.code == "model_not_found"


async def test_pro_tier_gets_its_own_limit(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    raw = await sdk(gateway.url, account.token).chat.completions.with_raw_response.create(
        model="deepseek-v4", messages=HELLO)
    assert raw.headers["x-ratelimit-limit"] == "100" and raw.headers["x-tier"] == "pro"


async def test_request_reaches_the_provider_with_the_pool_key_not_the_clients(client, gateway):
    account = await new_account(client, gateway.url)
    key = await create_key(client, gateway.url, account)
    completion = await sdk(gateway.url, key["key"]).chat.completions.create(model="groq/llama4", messages=HELLO)
    served = await ledger_entry(client, gateway, completion.id)
    assert served["provider"] == "groq" and served["path"] == "/groq/openai/v1/chat/completions"
    assert served["model"] == "meta-llama/llama-4-maverick-17b-128e-instruct"
    assert served["key_sha256"] != hashlib.sha256(key["key"].encode()).hexdigest()[:12]
    assert served["key_sha256"] == hashlib.sha256(b"sk-simulated-pool-key").hexdigest()[:12]
