"""What OpenAI clients rely on, as OpenAI sends it: the model id they asked for in every body and
chunk, OpenAI's rate-limit header names (and never the provider's own), the usage chunk only when
asked, and streams metered whatever framing the provider used (a Content-Length included)."""
from decimal import Decimal

from tests.e2e.chat import HELLO, chat, data_of, expected_cost, ledger_entry, sdk, stream_events
from tests.support.api import call, new_account
from tests.support.ledger import ledger_rows

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/receipt.jpg"}}
OURS = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests"}


def _providers_limit_headers(headers) -> set[str]:
    """Rate-limit headers that are not ours (the simulator sends OpenAI's, Anthropic's and Retry-After)."""
    names = {name.lower() for name in headers}
    return {n for n in names if n.startswith(("x-ratelimit-", "anthropic-ratelimit-", "retry-after")) and n not in OURS}


def _ours_say(headers, limit: int) -> bool:
    """Our headers, under the seed's names and OpenAI's, say the same: the account's limit."""
    return (headers["x-ratelimit-limit"] == headers["x-ratelimit-limit-requests"] == str(limit)
            and headers["x-ratelimit-remaining"] == headers["x-ratelimit-remaining-requests"]
            and headers["x-ratelimit-reset-requests"].endswith("s"))


async def test_json_answer_names_the_model_the_client_asked_for(client, base):
    account = await new_account(client, base)
    completion = await sdk(base, account.token).chat.completions.create(model="groq/llama4", messages=HELLO)
    assert completion.model == "groq/llama4"  # not meta-llama/llama-4-maverick-17b-128e-instruct


async def test_every_stream_chunk_names_the_model_the_client_asked_for(client, base):
    account = await new_account(client, base)
    status, events, _ = await stream_events(client, base, account.bearer, model="groq/llama4",
                                            stream_options={"include_usage": True})
    chunks = data_of(events)
    assert status == 200 and len(chunks) > 3 and chunks[-1]["usage"]
    assert {chunk["model"] for chunk in chunks} == {"groq/llama4"}


async def test_routed_answers_name_the_model_that_served(client, base):
    account = await new_account(client, base)
    status, body, headers = await chat(client, base, account.bearer, model="clew/free")
    assert status == 200 and body["model"] == headers["x-clew-model"] == "groq/llama-3.1-8b"
    status, events, _ = await stream_events(client, base, account.bearer, model="clew/ocr",
                                            messages=[{"role": "user", "content": [IMAGE]}])
    assert status == 200 and {chunk["model"] for chunk in data_of(events)} == {"deepseek/ocr"}


async def test_provider_rate_limit_headers_never_reach_the_client(client, base):
    account = await new_account(client, base)
    _, _, json_headers = await chat(client, base, account.bearer, model="deepseek-v4")
    _, _, stream_headers = await stream_events(client, base, account.bearer, model="deepseek-v4")
    _, _, routed_headers = await chat(client, base, account.bearer, model="clew/free")
    _, _, image_headers = await call(client, "POST", f"{base}/v1/images/generations", headers=account.bearer,
                                     json={"model": "minimax-image-01", "prompt": "a cat"})
    for headers in (json_headers, stream_headers, routed_headers, image_headers):
        assert _providers_limit_headers(headers) == set()
        assert _ours_say(headers, 10)  # the free tier's 10 requests a minute, not the provider's 10 000


async def test_our_rate_limit_headers_carry_openais_names_on_429s_too(client, gateway):
    account = await new_account(client, gateway.url)
    results = [await chat(client, gateway.url, account.bearer, model="deepseek-v4") for _ in range(11)]
    status, body, headers = results[-1]
    assert status == 429 and body["error"]["code"] == "rate_limit_exceeded"
    assert headers["x-ratelimit-remaining-requests"] == headers["x-ratelimit-remaining"] == "0"
    assert _ours_say(headers, 10) and int(headers["retry-after"]) >= 1


async def test_insufficient_quota_429_carries_our_rate_limit_headers(client, gateway):
    account = await new_account(client, gateway.url)
    long = [{"role": "user", "content": "word " * 100_000}]  # 125 000 tokens: more than the free tier's month
    status, body, headers = await chat(client, gateway.url, account.bearer, model="deepseek-v4", messages=long)
    assert status == 429 and body["error"]["type"] == "insufficient_quota"
    assert _ours_say(headers, 10) and _providers_limit_headers(headers) == set()


async def test_routed_stream_has_no_usage_chunk_unless_asked(client, base):
    account = await new_account(client, base)
    _, plain, _ = await stream_events(client, base, account.bearer, model="clew/free")
    _, asked, _ = await stream_events(client, base, account.bearer, model="clew/free",
                                      stream_options={"include_usage": True})
    assert [chunk for chunk in data_of(plain) if chunk.get("usage")] == []
    assert plain[-2].startswith(b": x-cost-usd=") and plain[-1] == b"data: [DONE]"
    usage = [chunk["usage"] for chunk in data_of(asked) if chunk.get("usage")]
    assert len(usage) == 1 and usage[0]["cost_usd"] == "0" and usage[0]["completion_tokens"] > 0


async def test_stream_sent_with_a_content_length_streams_and_is_metered_exactly(client, gateway, db):
    account = await new_account(client, gateway.url)
    headers = {**account.bearer, "x-sim-stream-content-length": "1", "x-sim-prompt-tokens": "1234",
               "x-sim-completion-tokens": "40"}
    status, events, response_headers = await stream_events(client, gateway.url, headers, model="deepseek-v4",
                                                           stream_options={"include_usage": True})
    chunks = data_of(events)
    assert status == 200 and events[-1] == b"data: [DONE]" and {c["model"] for c in chunks} == {"deepseek-v4"}
    provider = await ledger_entry(client, gateway, chunks[0]["id"])
    cost = expected_cost(gateway, "deepseek-v4", provider["prompt_tokens"], provider["completion_tokens"])
    assert events[-2].startswith(b": x-cost-usd=") and Decimal(events[-2].split(b"=")[1].decode()) == cost
    assert Decimal(chunks[-1]["usage"]["cost_usd"]) == cost
    assert _providers_limit_headers(response_headers) == set()
    [row] = await ledger_rows(db, account.id, expect=1)
    assert (row.status, row.prompt_tokens, row.completion_tokens, row.cost_nanos) == (
        200, 1234, 40, int(cost * 1_000_000_000))
