"""x-sim-cached-tokens: usage reports cached prompt tokens, OpenAI's way and (for DeepSeek) DeepSeek's too."""
from tests.plugins.simulator.conftest import chat_body, post_chat, sse_events

HEADERS = {"x-sim-prompt-tokens": "1000", "x-sim-completion-tokens": "5", "x-sim-cached-tokens": "600"}


async def _ledger(sim) -> list:
    return (await (await sim.get("/_sim/ledger")).json())["data"]


async def test_openai_style_usage_reports_cached_tokens(sim):
    body = await (await post_chat(sim, headers=HEADERS)).json()
    assert body["usage"] == {"prompt_tokens": 1000, "completion_tokens": 5, "total_tokens": 1005,
                             "prompt_tokens_details": {"cached_tokens": 600}}
    [entry] = await _ledger(sim)
    assert (entry["prompt_tokens"], entry["cached_tokens"]) == (1000, 600)


async def test_deepseek_usage_also_has_cache_hit_and_miss_fields(sim):
    resp = await post_chat(sim, chat_body(model="deepseek-chat"), provider="deepseek", path="/chat/completions",
                           headers=HEADERS)
    assert (await resp.json())["usage"] == {
        "prompt_tokens": 1000, "completion_tokens": 5, "total_tokens": 1005,
        "prompt_tokens_details": {"cached_tokens": 600}, "prompt_cache_hit_tokens": 600,
        "prompt_cache_miss_tokens": 400}


async def test_streamed_usage_chunk_reports_cached_tokens(sim):
    resp = await post_chat(sim, chat_body(stream=True, stream_options={"include_usage": True}), headers=HEADERS)
    usage = sse_events(await resp.text())[-2]["usage"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 600}


async def test_cached_tokens_never_exceed_the_prompt(sim):
    headers = HEADERS | {"x-sim-cached-tokens": "5000"}
    body = await (await post_chat(sim, headers=headers)).json()
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 1000}


async def test_without_the_header_usage_has_no_cache_fields(sim):
    body = await (await post_chat(sim, chat_body(model="deepseek-chat"), provider="deepseek",
                                  path="/chat/completions")).json()
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    [entry] = await _ledger(sim)
    assert entry["cached_tokens"] == 0


async def test_bad_cached_tokens_header_is_400(sim):
    resp = await post_chat(sim, headers={"x-sim-cached-tokens": "-1"})
    assert resp.status == 400 and (await resp.json())["error"]["param"] == "x-sim-cached-tokens"
