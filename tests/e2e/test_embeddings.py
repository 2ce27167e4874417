"""POST /v1/embeddings through Envoy with the official openai SDK: the simulator's vectors (float and
base64), dimensions and token arrays, priced on the provider's prompt tokens, in the ledger and the
usage report, quota and BYOK as for chat, and models of the wrong kind pointed to their endpoint."""
from decimal import Decimal

import openai
import pytest
import yaml

from plugins.simulator.embeddings import vector
from tests.e2e.chat import account_on_tier, chat, sdk, simulator_ledger
from tests.e2e.test_byok import fingerprint, own_key, store_key
from tests.support.api import call, new_account
from tests.support.ledger import insert_usage, ledger_rows

TEXTS = ["The quick brown fox", "jumps over the lazy dog, twice."]


def embedding_prices(gateway) -> dict[str, Decimal]:
    models = yaml.safe_load(gateway.config_path.read_text())["models"]
    return {name: Decimal(m["price_per_1m"]["input"]) for name, m in models.items() if m.get("kind") == "embedding"}


async def _served(client, gateway, request_id: str) -> dict:
    """The simulator's ledger entry of the embeddings call that Envoy sent with `request_id`."""
    entries = [e for e in await simulator_ledger(client, gateway, api="embeddings") if e["request_id"] == request_id]
    assert len(entries) == 1, f"simulator served {request_id} {len(entries)} times"
    return entries[0]


async def test_float_embeddings_are_the_simulators_vectors(client, gateway):
    account = await new_account(client, gateway.url)
    result = await sdk(gateway.url, account.token).embeddings.create(
        model="text-embedding-3-small", input=TEXTS, encoding_format="float")
    assert [d.embedding for d in result.data] == [vector(text, 1536) for text in TEXTS]
    assert [d.index for d in result.data] == [0, 1] and result.model == "text-embedding-3-small"


async def test_base64_embeddings_the_sdk_asks_for_by_default_decode_to_the_same_vectors(client, gateway):
    account = await new_account(client, gateway.url)
    result = await sdk(gateway.url, account.token).embeddings.create(model="text-embedding-3-large", input=TEXTS[0])
    assert [d.embedding for d in result.data] == [vector(TEXTS[0], 3072)]


async def test_dimensions_shorten_the_vector(client, gateway):
    account = await new_account(client, gateway.url)
    result = await sdk(gateway.url, account.token).embeddings.create(
        model="text-embedding-3-small", input=TEXTS[1], dimensions=256)
    assert [d.embedding for d in result.data] == [vector(TEXTS[1], 256)]


async def test_token_arrays_are_embedded_and_counted_by_token(client, gateway, db):
    account = await new_account(client, gateway.url)
    tokens = [[9906, 1917, 0], [40, 1093]]
    raw = await sdk(gateway.url, account.token).embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=tokens, encoding_format="float")
    assert [d.embedding for d in raw.parse().data] == [vector(t, 1536) for t in tokens]
    (row,) = await ledger_rows(db, account.id, 1)
    assert (await _served(client, gateway, row.request_id))["prompt_tokens"] == row.prompt_tokens == 5


async def test_response_names_the_model_the_client_asked_for(client, gateway):
    account = await new_account(client, gateway.url)
    result = await sdk(gateway.url, account.token).embeddings.create(model="mistral/embed", input=TEXTS)
    assert result.model == "mistral/embed" and [d.embedding for d in result.data] == [vector(t, 1024) for t in TEXTS]


async def test_cost_header_is_the_providers_prompt_tokens_times_the_price_for_every_embedding_model(
        client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    api = sdk(gateway.url, account.token)
    prices = embedding_prices(gateway)
    assert prices == {"text-embedding-3-small": Decimal("0.02"), "text-embedding-3-large": Decimal("0.13"),
                      "mistral/embed": Decimal("0.10")}
    costs = []
    for model in prices:
        raw = await api.embeddings.with_raw_response.create(model=model, input=["x" * 4000, "y" * 999])
        assert (raw.headers["x-tier"], raw.headers["x-key-source"]) == ("pro", "pool")
        assert raw.headers["x-ratelimit-limit"] == "100" and "x-ratelimit-remaining" in raw.headers
        costs.append((model, Decimal(raw.headers["x-cost-usd"])))
    rows = await ledger_rows(db, account.id, len(prices))
    for (model, cost), row in zip(costs, rows, strict=True):
        served = await _served(client, gateway, row.request_id)
        assert served["prompt_tokens"] == 1250  # 1000 + 250: one token per 4 characters
        assert cost == served["prompt_tokens"] * prices[model] / 1_000_000, model
        assert (row.model, row.provider, row.prompt_tokens, row.completion_tokens, row.status) == (
            model, served["provider"], 1250, 0, 200)
        assert Decimal(row.cost_nanos) / 10 ** 9 == cost


async def test_usage_report_counts_embeddings_by_model(client, gateway, db):
    account = await account_on_tier(client, gateway, db, "pro")
    api = sdk(gateway.url, account.token)
    await api.embeddings.create(model="text-embedding-3-small", input="z" * 400, extra_headers={
        "x-sim-prompt-tokens": "1000000"})  # $0.02
    await api.embeddings.create(model="mistral/embed", input="z" * 40)  # 10 tokens
    await ledger_rows(db, account.id, 2)
    _, usage, _ = await call(client, "GET", f"{gateway.url}/v1/usage", headers=account.bearer)
    by_model = {m["model"]: m for m in usage["by_model"]}
    assert by_model["text-embedding-3-small"]["prompt_tokens"] == 1_000_000
    assert Decimal(by_model["text-embedding-3-small"]["cost_usd"]) == Decimal("0.02")
    assert by_model["mistral/embed"]["prompt_tokens"] == 10 and by_model["mistral/embed"]["requests"] == 1
    assert usage["quota"]["used_tokens"] == 1_000_010


async def test_an_embedding_model_at_chat_completions_is_400_pointing_to_embeddings(client, gateway):
    account = await new_account(client, gateway.url)
    status, body, _ = await chat(client, gateway.url, account.bearer, model="text-embedding-3-small")
    assert status == 400 and body["error"]["param"] == "model" and body["error"]["code"] == "model_not_supported"
    assert "/v1/embeddings" in body["error"]["message"]


async def test_a_chat_model_at_embeddings_is_400_pointing_to_chat_completions(client, gateway):
    account = await new_account(client, gateway.url)
    with pytest.raises(openai.BadRequestError) as raised:
        await sdk(gateway.url, account.token).embeddings.create(model="gpt-5.5", input="hello")
    assert raised.value.code == "model_not_supported" and "/v1/chat/completions" in raised.value.message


@pytest.mark.parametrize("body, param, code", [
    ({"model": "text-embedding-3-small"}, "input", "missing_required_parameter"),
    ({"model": "text-embedding-3-small", "input": ""}, "input", "invalid_value"),
    ({"model": "text-embedding-3-small", "input": []}, "input", "invalid_value"),
    ({"model": "text-embedding-3-small", "input": ["ok", 3]}, "input", "invalid_value"),
    ({"model": "text-embedding-3-small", "input": [[1, -2]]}, "input", "invalid_value"),
    ({"input": "hello"}, "model", "missing_required_parameter"),
    ({"model": "text-embedding-3-small", "input": "hi", "encoding_format": "int8"}, "encoding_format",
     "invalid_value"),
    ({"model": "text-embedding-3-small", "input": "hi", "dimensions": 1537}, "dimensions", "integer_above_max_value"),
    ({"model": "text-embedding-3-small", "input": "hi", "dimensions": 0}, "dimensions", "integer_below_min_value"),
    ({"model": "text-embedding-3-small", "input": "hi", "dimensions": "8"}, "dimensions", "invalid_type"),
    ({"model": "mistral/embed", "input": "hi", "dimensions": 512}, "dimensions", "invalid_value"),
    ({"model": "text-embedding-3-small", "input": "hi", "user": 7}, "user", "invalid_type"),
])
async def test_invalid_requests_are_400_naming_the_parameter_and_never_reach_the_provider(
        client, gateway, body, param, code):
    account = await new_account(client, gateway.url)
    calls = len(await simulator_ledger(client, gateway, api="embeddings"))
    status, answer, headers = await call(client, "POST", f"{gateway.url}/v1/embeddings", json=body,
                                         headers=account.bearer)
    assert status == 400 and (answer["error"]["param"], answer["error"]["code"]) == (param, code), answer
    assert answer["error"]["type"] == "invalid_request_error" and "x-ratelimit-limit" in headers
    assert len(await simulator_ledger(client, gateway, api="embeddings")) == calls


async def test_user_is_accepted(client, gateway):
    account = await new_account(client, gateway.url)
    result = await sdk(gateway.url, account.token).embeddings.create(model="text-embedding-3-small", input="hi",
                                                                      user="user-1234")
    assert len(result.data) == 1


async def test_over_quota_embeddings_are_429_insufficient_quota_before_the_provider(client, gateway, db):
    account = await new_account(client, gateway.url)
    await insert_usage(db, account.id, 100_000 - 100)  # the free tier's 100 000 tokens, but 100
    calls = len(await simulator_ledger(client, gateway, api="embeddings"))
    with pytest.raises(openai.RateLimitError) as raised:  # about 250 tokens of input
        await sdk(gateway.url, account.token).embeddings.create(model="text-embedding-3-small", input="w" * 1000)
    assert raised.value.code == "insufficient_quota" and raised.value.status_code == 429
    assert len(await simulator_ledger(client, gateway, api="embeddings")) == calls
    fits = await sdk(gateway.url, account.token).embeddings.create(model="text-embedding-3-small", input="w" * 396)
    assert fits.usage.prompt_tokens == 99


async def test_embeddings_with_the_accounts_own_key_go_with_it_and_say_byok(client, gateway, db):
    account = await new_account(client, gateway.url)
    key = own_key()
    await store_key(client, gateway.url, account, "openai", key)
    raw = await sdk(gateway.url, account.token).embeddings.with_raw_response.create(
        model="text-embedding-3-small", input="hello")
    assert raw.headers["x-key-source"] == "byok"
    (row,) = await ledger_rows(db, account.id, 1)
    served = await _served(client, gateway, row.request_id)
    assert served["key_sha256"] == fingerprint(key) and row.key_source == "byok"


async def test_a_provider_rejecting_the_request_is_its_error_in_openais_shape(client, gateway):
    account = await new_account(client, gateway.url)
    status, body, _ = await call(client, "POST", f"{gateway.url}/v1/embeddings", headers={
        **account.bearer, "x-sim-status": "400"}, json={"model": "text-embedding-3-small", "input": "hi"})
    assert status == 400 and set(body["error"]) == {"message", "type", "param", "code"}



async def test_a_batch_whose_answer_the_gateway_cannot_hold_is_400_before_the_provider(client, gateway):
    account = await new_account(client, gateway.url)
    api = sdk(gateway.url, account.token)
    calls = len(await simulator_ledger(client, gateway, api="embeddings"))
    with pytest.raises(openai.BadRequestError) as raised:  # 300 × 1536 floats as JSON text: over 8 MiB
        await api.embeddings.create(model="text-embedding-3-small", input=["a"] * 300, encoding_format="float")
    assert raised.value.code == "answer_too_large" and "encoding_format: base64" in raised.value.message
    assert len(await simulator_ledger(client, gateway, api="embeddings")) == calls
    result = await api.embeddings.create(model="text-embedding-3-small", input=["a"] * 300)  # base64: 2.4 MB
    assert len(result.data) == 300 and result.data[299].embedding == vector("a", 1536)


async def test_the_largest_batch_admitted_is_answered_whole(client, gateway):
    account = await new_account(client, gateway.url)
    largest = 8 * 2**20 // (1536 * 24)  # the gateway's 8 MiB over its 24 bytes a float value, at most
    result = await sdk(gateway.url, account.token).embeddings.create(
        model="text-embedding-3-small", input=["b"] * largest, encoding_format="float")
    assert len(result.data) == largest == 227 and result.data[-1].embedding == vector("b", 1536)
