"""What the metering plugin believes of a response's headers when it decides the bill, and how it prices cached
prompt tokens (OpenAI's and DeepSeek's fields, buffered and streamed)."""
import json

from plugins.context import RequestContext
from plugins.metering import MeteringPlugin
from plugins.runtime_config import RuntimeConfig
from schemas.identity import Identity
from tests.support.stack import ROOT

FORGED = {":status": "200", "content-type": "application/json", "x-clew-served-by": "gpt-5.5",
          "x-clew-key-source": "byok"}


def _direct_request(runtime: RuntimeConfig) -> RequestContext:
    ctx = RequestContext(method="POST", path="/v1/chat/completions", headers={},
                         identity=Identity("acct_1", "free", "api_key", "key_1"), runtime=runtime.current)
    ctx.state.update(model=runtime.current.models["deepseek-v4"], key_source="pool", client_wants_usage=False)
    return ctx


async def test_a_provider_naming_another_model_or_byok_on_a_direct_route_changes_nothing_of_the_bill():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    ctx = _direct_request(runtime)
    await MeteringPlugin(sink=None).on_response_headers(ctx, 200, FORGED, via_upstream=True)
    assert ctx.state.model.name == "deepseek-v4" and ctx.state.key_source == "pool"
    assert ctx.mutation.set_headers["x-key-source"] == "pool"
    assert {"x-clew-served-by", "x-clew-key-source"} <= set(ctx.mutation.remove_headers)


async def test_a_routers_attempt_names_the_model_that_served():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    ctx = _direct_request(runtime)
    ctx.state.router = "clew/free"
    await MeteringPlugin(sink=None).on_response_headers(
        ctx, 200, {**FORGED, "x-clew-served-by": "groq/llama-3.1-8b", "x-clew-key-source": "pool"}, via_upstream=True)
    assert ctx.state.model.name == "groq/llama-3.1-8b" and ctx.state.key_source == "pool"


def _priced_request(runtime: RuntimeConfig, model: str) -> RequestContext:
    ctx = _direct_request(runtime)
    ctx.state.model = runtime.current.models[model]
    return ctx


async def _json_cost(ctx: RequestContext, usage: dict) -> str:
    plugin = MeteringPlugin(sink=None)
    await plugin.on_response_headers(ctx, 200, {":status": "200", "content-type": "application/json"}, True)
    ctx.begin_phase()
    await plugin.on_response_body(ctx, json.dumps({"model": "x", "usage": usage}).encode(), end=True)
    return ctx.mutation.set_headers["x-cost-usd"]


async def test_deepseeks_cache_hit_tokens_alone_are_billed_at_the_cached_price():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_cache_hit_tokens": 600,
             "prompt_cache_miss_tokens": 400}
    # deepseek-v4: 400 × $0.50 + 600 × $0.05 + 100 × $1.50, per 1M
    assert await _json_cost(_priced_request(runtime, "deepseek-v4"), usage) == "0.00038"


async def test_openais_cached_tokens_are_billed_at_the_cached_price():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 600}}
    # gpt-5.5: 400 × $10 + 600 × $1 + 100 × $40, per 1M
    assert await _json_cost(_priced_request(runtime, "gpt-5.5"), usage) == "0.0086"


async def test_cached_tokens_of_a_model_without_a_cached_price_are_billed_at_the_input_price():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 600}}
    # groq/llama4: 1000 × $0.50 + 100 × $1.00, per 1M
    assert await _json_cost(_priced_request(runtime, "groq/llama4"), usage) == "0.0006"


async def test_a_streams_cached_tokens_are_billed_at_the_cached_price_in_its_usage_and_comment():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    ctx = _priced_request(runtime, "deepseek-v4")
    ctx.state.client_wants_usage = True
    plugin = MeteringPlugin(sink=None)
    await plugin.on_response_headers(ctx, 200, {":status": "200", "content-type": "text/event-stream"}, True)
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "prompt_cache_hit_tokens": 600}
    chunks = [{"model": "x", "choices": [{"index": 0, "delta": {"content": "hi"}}]},
              {"model": "x", "choices": [], "usage": usage}]
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    ctx.begin_phase()
    await plugin.on_response_body(ctx, body, end=True)
    out = ctx.mutation.body.split(b"\n\n")
    assert b": x-cost-usd=0.00038" in out and json.loads(out[1][6:])["usage"]["cost_usd"] == "0.00038"


class Sink:
    def __init__(self):
        self.events = []

    async def publish(self, event) -> None:
        self.events.append(event)


async def _completed(ctx: RequestContext, body: bytes | None) -> object:
    """The usage event of a JSON answer whose body reached the sidecar (None: it never did)."""
    sink = Sink()
    plugin = MeteringPlugin(sink=sink)
    ctx.state.request = {"model": "deepseek-v4", "messages": [{"role": "user", "content": "Hello!"}]}
    await plugin.on_response_headers(ctx, 200, {":status": "200", "content-type": "application/json"}, True)
    if body is not None:
        ctx.begin_phase()
        await plugin.on_response_body(ctx, body, end=True)
        ctx.state.body_bytes = len(ctx.mutation.body or body)
    await plugin.on_complete(ctx)
    return sink.events[0]


async def test_a_json_answer_says_what_it_is_billed_if_envoys_log_shows_it_never_reached_the_client():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    body = json.dumps({"model": "x", "usage": {"prompt_tokens": 1000, "completion_tokens": 100}}).encode()
    event = await _completed(_priced_request(runtime, "deepseek-v4"), body)
    # deepseek-v4: 1000 × $0.50 + 100 × $1.50 per 1M; cut: the prompt alone, 1000 × $0.50
    assert (event.status, event.cost_nanos, event.body_bytes) == (200, 650_000, len(body))
    assert (event.cut_completion_tokens, event.cut_cost_nanos) == (0, 500_000)


async def test_a_json_answer_whose_body_never_reached_the_sidecar_is_a_499_billed_for_its_prompt_estimate():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    event = await _completed(_priced_request(runtime, "deepseek-v4"), None)
    # "Hello!": 4 tokens a message + 2 of text; 6 × $0.50 per 1M
    assert (event.status, event.prompt_tokens, event.completion_tokens, event.cost_nanos) == (499, 6, 0, 3_000)


def _sse(*events: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


async def _streamed(ctx: RequestContext, *replies: bytes) -> object:
    """The usage event of a stream whose body came in `replies`, the last one ending it."""
    sink = Sink()
    plugin = MeteringPlugin(sink=sink)
    await plugin.on_response_headers(ctx, 200, {":status": "200", "content-type": "text/event-stream"}, True)
    for i, reply in enumerate(replies):
        ctx.begin_phase()
        await plugin.on_response_body(ctx, reply, end=i == len(replies) - 1)
    await plugin.on_complete(ctx)
    return sink.events[0]


USAGE = {"prompt_tokens": 1000, "completion_tokens": 100}
TEXT = {"model": "x", "choices": [{"index": 0, "delta": {"content": "12345678"}}]}  # 8 bytes: 2 tokens


async def test_a_stream_whose_last_reply_carries_only_its_end_is_billed_in_full_even_if_that_reply_is_cut():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    event = await _streamed(_priced_request(runtime, "deepseek-v4"), _sse(TEXT, TEXT),
                            _sse({"model": "x", "choices": [], "usage": USAGE}) + b"data: [DONE]\n\n")
    assert (event.completion_tokens, event.cut_completion_tokens, event.cut_cost_nanos) == (100, 100, event.cost_nanos)


async def test_a_stream_whose_last_reply_carries_text_is_billed_for_the_text_before_it_if_that_reply_is_cut():
    runtime = RuntimeConfig(ROOT / "gateway.yaml", env={})
    event = await _streamed(_priced_request(runtime, "deepseek-v4"), _sse(TEXT),
                            _sse(TEXT, {"model": "x", "choices": [], "usage": USAGE}) + b"data: [DONE]\n\n")
    # the prompt and the first chunk's 2 tokens: 1000 × $0.50 + 2 × $1.50 per 1M
    assert (event.completion_tokens, event.cut_completion_tokens, event.cut_cost_nanos) == (100, 2, 503_000)
