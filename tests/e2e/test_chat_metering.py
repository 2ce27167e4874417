"""What a completion costs: X-Cost-USD against what the provider billed, and the ledger."""
import asyncio
from decimal import Decimal

import pytest

from tests.e2e.chat import (
    HELLO,
    account_on_tier,
    chat,
    data_of,
    expected_cost,
    ledger_entry,
    prices,
    sdk,
    stream_events,
)
from tests.support.api import call, create_key, new_account
from tests.support.ledger import ledger_rows

SEED_MODELS = ["deepseek-v4-pro", "deepseek-v4", "gpt-5.5", "groq/llama4", "mistral/large"]


async def test_seed_models_have_the_published_prices(gateway):
    assert {m: prices(gateway)[m] for m in SEED_MODELS} == {
        "deepseek-v4-pro": (Decimal("1.50"), Decimal("4.00")), "deepseek-v4": (Decimal("0.50"), Decimal("1.50")),
        "gpt-5.5": (Decimal("10.00"), Decimal("40.00")), "groq/llama4": (Decimal("0.50"), Decimal("1.00")),
        "mistral/large": (Decimal("2.00"), Decimal("6.00"))}


async def test_cost_header_is_the_providers_tokens_times_our_prices_for_every_model(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    api = sdk(gateway.url, account.token)
    for model in prices(gateway):
        raw = await api.chat.completions.with_raw_response.create(model=model, messages=HELLO)
        served = await ledger_entry(client, gateway, raw.parse().id)
        assert Decimal(raw.headers["x-cost-usd"]) == expected_cost(
            gateway, model, served["prompt_tokens"], served["completion_tokens"]), model


async def test_cost_is_exact_for_large_token_counts(client, base):
    account = await new_account(client, base)
    status, _, headers = await chat(client, base, {**account.bearer, "x-sim-prompt-tokens": "123457",
                                                  "x-sim-completion-tokens": "98765"}, model="gpt-5.5")
    assert status == 200
    assert headers["x-cost-usd"] == "5.18517"  # 123457 × $10/1M + 98765 × $40/1M


async def test_streamed_cost_equals_the_non_streamed_cost(client, base):
    account = await new_account(client, base)
    tokens = {"x-sim-prompt-tokens": "1234", "x-sim-completion-tokens": "567", **account.bearer}
    _, _, headers = await chat(client, base, tokens, model="deepseek-v4-pro")
    _, events, _ = await stream_events(client, base, tokens, model="deepseek-v4-pro",
                                       stream_options={"include_usage": True})
    usage = data_of(events)[-1]["usage"]
    assert usage["cost_usd"] == headers["x-cost-usd"] == "0.004119"
    assert events[-2] == b": x-cost-usd=0.004119" and events[-1] == b"data: [DONE]"


async def test_stream_without_usage_request_still_ends_with_the_cost_comment(client, base):
    account = await new_account(client, base)
    _, events, _ = await stream_events(client, base, {**account.bearer, "x-sim-prompt-tokens": "10",
                                                      "x-sim-completion-tokens": "10"}, model="deepseek-v4")
    assert all("usage" not in d or d["usage"] is None for d in data_of(events))
    assert events[-2:] == [b": x-cost-usd=0.00002", b"data: [DONE]"]


async def test_streamed_chunks_pass_through_in_order(client, base):
    account = await new_account(client, base)
    _, events, headers = await stream_events(client, base, {**account.bearer, "x-sim-chunks": "20"},
                                             model="deepseek-v4")
    content = [d for d in data_of(events) if d["choices"] and d["choices"][0]["delta"].get("content")]
    assert headers["Content-Type"].startswith("text/event-stream") and len(content) == 20


async def test_first_chunk_arrives_before_the_provider_has_finished(client, base):
    account = await new_account(client, base)
    headers = {**account.bearer, "x-sim-chunks": "5", "x-sim-chunk-interval-ms": "400"}
    loop = asyncio.get_running_loop()
    async with client.post(f"{base}/v1/chat/completions", headers=headers,
                           json={"model": "deepseek-v4", "messages": HELLO, "stream": True}) as response:
        started = loop.time()
        first = await response.content.readuntil(b"\n\n")
        first_at = loop.time() - started
        await response.read()
        finished_at = loop.time() - started
    assert first.startswith(b"data: {")
    assert first_at < 0.5 * finished_at  # the provider takes five chunks × 400 ms; the first came early


async def test_each_completion_lands_once_in_the_ledger_with_its_cost(client, gateway, db):
    account = await new_account(client, gateway.url)
    key = await create_key(client, gateway.url, account)
    tokens = {"X-API-Key": key["key"], "x-sim-prompt-tokens": "100", "x-sim-completion-tokens": "50"}
    await chat(client, gateway.url, tokens, model="deepseek-v4-pro")
    await stream_events(client, gateway.url, tokens, model="mistral/large")
    rows = await ledger_rows(db, account.id, expect=2)
    assert [(r.model, r.provider, r.prompt_tokens, r.completion_tokens, r.cost_nanos, r.streamed, r.key_id)
            for r in rows] == [("deepseek-v4-pro", "deepseek", 100, 50, 350_000, False, key["id"]),
                               ("mistral/large", "mistral", 100, 50, 500_000, True, key["id"])]
    assert all(r.status == 200 and r.key_source == "pool" and r.request_id for r in rows)


async def test_profile_shows_the_months_totals_from_the_ledger(client, gateway, db):
    account = await new_account(client, gateway.url)
    tokens = {**account.bearer, "x-sim-prompt-tokens": "1000", "x-sim-completion-tokens": "1000"}
    for _ in range(3):
        await chat(client, gateway.url, tokens, model="deepseek-v4")
    await ledger_rows(db, account.id, expect=3)
    _, body, _ = await call(client, "GET", f"{gateway.url}/v1/auth/me", headers=account.bearer)
    assert body["usage"] == {**body["usage"], "requests": 3, "prompt_tokens": 3000, "completion_tokens": 3000,
                             "total_tokens": 6000, "cost_usd": "0.006"}


async def test_refused_requests_are_not_metered(client, gateway, db):
    account = await new_account(client, gateway.url)
    await chat(client, gateway.url, account.bearer, model="no-such-model")
    await chat(client, gateway.url, account.bearer, messages="not a list", model="deepseek-v4")
    for _ in range(11):
        await chat(client, gateway.url, account.bearer, model="deepseek-v4",
                   messages=[{"role": "user", "content": "x"}])
    rows = await ledger_rows(db, account.id, expect=9, timeout=2)
    # Every request counts against the limit of 10: the 2 invalid ones and 8 valid ones; only those 8
    # reached a provider, and the 3 refused by the limit did not.
    assert len(rows) == 8


@pytest.mark.parametrize("stream", [False, True])
async def test_provider_error_is_not_billed_tokens(client, gateway, db, stream):
    account = await new_account(client, gateway.url)
    body = {"model": "deepseek-v4", "stream": stream}
    status, _, _ = await chat(client, gateway.url, {**account.bearer, "x-sim-status": "500"}, **body)
    rows = await ledger_rows(db, account.id, expect=1)
    assert status == 502 and [(r.status, r.cost_nanos) for r in rows] == [(502, 0)]
