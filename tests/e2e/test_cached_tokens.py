"""Prompt tokens a provider reports as read from its cache are billed at the model's cached_input price:
X-Cost-USD, a stream's usage.cost_usd and cost comment, and the ledger, against the simulator's own
count (OpenAI's prompt_tokens_details.cached_tokens; DeepSeek's prompt_cache_hit_tokens besides)."""
from decimal import Decimal

import pytest
import yaml

from tests.e2e.chat import chat, data_of, simulator_ledger, stream_events
from tests.support.api import new_account
from tests.support.ledger import ledger_rows

TOKENS = {"x-sim-prompt-tokens": "1000", "x-sim-completion-tokens": "100", "x-sim-cached-tokens": "600"}


def _price(gateway, model: str) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in yaml.safe_load(gateway.config_path.read_text())["models"][model]
            ["price_per_1m"].items()}


def _expected(gateway, model: str, served: dict) -> Decimal:
    price = _price(gateway, model)
    prompt, cached, completion = served["prompt_tokens"], served["cached_tokens"], served["completion_tokens"]
    return ((prompt - cached) * price["input"] + cached * price["cached_input"]
            + completion * price["output"]) / 1_000_000


async def _served(client, gateway, request_id: str) -> dict:
    (entry,) = [e for e in await simulator_ledger(client, gateway) if e.get("request_id") == request_id]
    return entry


@pytest.mark.parametrize("model", ["gpt-5.5", "deepseek-v4"])
async def test_cached_prompt_tokens_are_billed_at_the_cached_price(client, gateway, db, model):
    account = await new_account(client, gateway.url)
    status, body, headers = await chat(client, gateway.url, {**account.bearer, **TOKENS}, model=model)
    assert status == 200 and body["usage"]["prompt_tokens_details"]["cached_tokens"] == 600
    [row] = await ledger_rows(db, account.id, expect=1)
    served = await _served(client, gateway, row.request_id)
    assert served["cached_tokens"] == 600
    cost = _expected(gateway, model, served)
    assert Decimal(headers["x-cost-usd"]) == cost == Decimal(row.cost_nanos) / 10 ** 9
    price = _price(gateway, model)
    assert cost < (1000 * price["input"] + 100 * price["output"]) / 1_000_000  # cheaper than uncached


@pytest.mark.parametrize("model", ["gpt-5.5", "deepseek-v4"])
async def test_a_streams_cached_prompt_tokens_are_billed_at_the_cached_price(client, gateway, db, model):
    account = await new_account(client, gateway.url)
    status, events, _ = await stream_events(client, gateway.url, {**account.bearer, **TOKENS}, model=model,
                                            stream_options={"include_usage": True})
    usage = data_of(events)[-1]["usage"]
    [row] = await ledger_rows(db, account.id, expect=1)
    cost = _expected(gateway, model, await _served(client, gateway, row.request_id))
    assert status == 200 and Decimal(usage["cost_usd"]) == cost == Decimal(row.cost_nanos) / 10 ** 9
    assert events[-2] == f": x-cost-usd={usage['cost_usd']}".encode()

