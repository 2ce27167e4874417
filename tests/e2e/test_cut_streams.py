"""Streams that end early are billed for what went through: the client hanging up after a few chunks,
the provider resetting or ending the stream short. The ledger row has the status, the prompt and the
relayed completion; the quota counter and GET /v1/usage count them; the provider served the call."""
import asyncio
import json

import aiohttp
import pytest

from plugins.usage_estimate import text_tokens
from tests.e2e.chat import FREE_QUOTA, HELLO, expected_cost, free_account_with, ledger_entry, quota_left_is
from tests.support.api import call, new_account
from tests.support.ledger import ledger_rows

LEFT = 5_000  # of the month's quota, before the stream
SLOW = {"x-sim-chunks": "30", "x-sim-completion-tokens": "60", "x-sim-chunk-interval-ms": "100"}
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/receipt.jpg"}}


async def _read_then_hang_up(client, base: str, headers: dict, events: int, **body) -> list[dict]:
    """Read `events` SSE events of a stream, then close the connection; the chunks read."""
    async with client.post(f"{base}/v1/chat/completions", headers=headers,
                           json={"messages": HELLO, "stream": True, **body}) as response:
        assert response.status == 200
        received = [await response.content.readuntil(b"\n\n") for _ in range(events)]
        response.close()  # hang up mid-stream
    return [json.loads(event[6:]) for event in received]


def _text(chunks: list[dict]) -> str:
    return "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])


async def _provider_entry(client, gateway, response_id: str) -> dict:
    """The simulator's entry for the call, once it noticed the stream was cut."""
    for _ in range(100):
        entry = await ledger_entry(client, gateway, response_id)
        if entry["disconnected"]:
            return entry
        await asyncio.sleep(0.05)
    raise AssertionError(f"the simulator never saw {response_id} cut")


def _cost_nanos(gateway, model: str, prompt: int, completion: int) -> int:
    return int(expected_cost(gateway, model, prompt, completion) * 1_000_000_000)


async def test_client_hanging_up_is_billed_for_the_prompt_and_the_relayed_completion(client, gateway, db):
    account = await free_account_with(client, gateway, db, LEFT)
    chunks = await _read_then_hang_up(client, gateway.url, {**account.bearer, **SLOW}, 6, model="deepseek-v4",
                                      max_tokens=100)
    provider = await _provider_entry(client, gateway, chunks[0]["id"])
    [row] = [r for r in await ledger_rows(db, account.id, expect=2) if r.streamed]
    assert (row.status, row.streamed) == (499, True)
    assert row.prompt_tokens == provider["prompt_tokens"] > 0  # "Hello!": the estimate is the provider's count
    # At least the text the client read, at most what the provider sent (a word is at most 2 tokens of 4 bytes).
    assert 0 < text_tokens(_text(chunks)) <= row.completion_tokens <= 2 * provider["completion_tokens"]
    assert row.cost_nanos == _cost_nanos(gateway, "deepseek-v4", row.prompt_tokens, row.completion_tokens)
    _, usage, _ = await call(client, "GET", f"{gateway.url}/v1/usage", headers=account.bearer)
    assert usage["quota"]["used_tokens"] == FREE_QUOTA - LEFT + row.total_tokens
    await quota_left_is(client, gateway, account, LEFT - row.total_tokens)


async def test_routed_stream_cut_by_the_client_is_billed_to_the_model_that_served(client, gateway, db):
    account = await free_account_with(client, gateway, db, LEFT)
    chunks = await _read_then_hang_up(client, gateway.url, {**account.bearer, **SLOW}, 6, model="clew/ocr",
                                      max_tokens=100, messages=[{"role": "user", "content": [IMAGE]}])
    provider = await _provider_entry(client, gateway, chunks[0]["id"])
    [row] = [r for r in await ledger_rows(db, account.id, expect=2) if r.streamed]
    assert (row.model, row.status, provider["provider"]) == ("deepseek/ocr", 499, "deepseek")
    assert row.prompt_tokens == provider["prompt_tokens"]  # the router's instruction and the image included
    assert 0 < text_tokens(_text(chunks)) <= row.completion_tokens <= 2 * provider["completion_tokens"]
    assert row.cost_nanos == _cost_nanos(gateway, "deepseek/ocr", row.prompt_tokens, row.completion_tokens) > 0
    await quota_left_is(client, gateway, account, LEFT - row.total_tokens)


async def test_stream_reset_by_the_provider_is_billed_for_what_went_through(client, gateway, db):
    account = await new_account(client, gateway.url)
    headers = {**account.bearer, **SLOW, "x-sim-reset-after": "4"}
    async with client.post(f"{gateway.url}/v1/chat/completions", headers=headers,
                           json={"model": "deepseek-v4", "messages": HELLO, "stream": True}) as response:
        first = json.loads((await response.content.readuntil(b"\n\n"))[6:])
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    provider = await ledger_entry(client, gateway, first["id"])
    [row] = await ledger_rows(db, account.id, expect=1)
    assert row.status == 499 and row.prompt_tokens == provider["prompt_tokens"]
    assert 0 < provider["completion_tokens"] <= row.completion_tokens <= 2 * provider["completion_tokens"]


async def test_stream_ended_short_by_the_provider_is_a_502_billed_for_what_went_through(client, gateway, db):
    account = await new_account(client, gateway.url)
    headers = {**account.bearer, "x-sim-chunks": "10", "x-sim-completion-tokens": "20", "x-sim-disconnect-after": "4"}
    async with client.post(f"{gateway.url}/v1/chat/completions", headers=headers,
                           json={"model": "deepseek-v4", "messages": HELLO, "stream": True}) as response:
        events = [e for e in (await response.read()).split(b"\n\n") if e.startswith(b"data: {")]
    first = json.loads(events[0][6:])
    provider = await ledger_entry(client, gateway, first["id"])
    [row] = await ledger_rows(db, account.id, expect=1)
    assert row.status == 502 and row.prompt_tokens == provider["prompt_tokens"]
    assert 0 < provider["completion_tokens"] <= row.completion_tokens <= 2 * provider["completion_tokens"]
    assert row.cost_nanos == _cost_nanos(gateway, "deepseek-v4", row.prompt_tokens, row.completion_tokens)
