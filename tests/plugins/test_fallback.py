"""The fallback plugin's answer when every candidate of a router is cooling down."""
import pytest

from plugins.context import Reject, RequestContext
from plugins.cooldowns import MemoryCooldowns
from plugins.fallback import FallbackPlugin
from plugins.runtime_config import RuntimeConfig
from tests.support.stack import ROOT


def _request() -> RequestContext:
    return RequestContext(method="POST", path="/v1/chat/completions", headers={})


async def test_all_cooling_is_429_with_the_smallest_remaining_wait():
    cooldowns = MemoryCooldowns()
    for provider, seconds in (("groq", 29), ("nvidia", 14), ("mistral", 22)):
        await cooldowns.cool(provider, seconds)
    plugin = FallbackPlugin(RuntimeConfig(ROOT / "gateway.yaml", env={}), cooldowns)
    with pytest.raises(Reject) as raised:
        await plugin.on_request_body(_request(), b'{"model":"clew/free","messages":[{"role":"user","content":"hi"}]}')
    assert raised.value.status == 429 and raised.value.headers["retry-after"] == "14"


async def test_a_cooling_candidate_is_left_out_of_the_subset():
    cooldowns = MemoryCooldowns()
    await cooldowns.cool("groq", 30)
    plugin, ctx = FallbackPlugin(RuntimeConfig(ROOT / "gateway.yaml", env={}), cooldowns), _request()
    await plugin.on_request_body(ctx, b'{"model":"clew/free","messages":[{"role":"user","content":"hi"}]}')
    assert ctx.mutation.set_headers["x-clew-provider"] == "clew/free#6"  # candidates 1 and 2, not groq
