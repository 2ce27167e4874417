"""What the metering plugin believes of a response's headers when it decides the bill."""
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
