"""The fallback plugin's answer when every candidate of a router is cooling down."""
import json
from types import SimpleNamespace

import pytest

from plugins import chat_request, json_body
from plugins.context import Reject, RequestContext
from plugins.cooldowns import MemoryCooldowns
from plugins.fallback import Attempt, FallbackPlugin
from plugins.runtime_config import RuntimeConfig
from schemas.identity import Identity
from tests.support.stack import ROOT


def _request(client_api: str = "openai_chat") -> RequestContext:
    return RequestContext(method="POST", path="/v1/chat/completions", headers={},
                          identity=Identity("acct_1", "pro", "session"),
                          runtime=RuntimeConfig(ROOT / "gateway.yaml", env={}).current,
                          endpoint=SimpleNamespace(client_api=client_api))


async def test_all_cooling_is_429_with_the_smallest_remaining_wait():
    cooldowns = MemoryCooldowns()
    for provider, seconds in (("groq", 29), ("nvidia", 14), ("mistral", 22)):
        await cooldowns.cool(provider, seconds)
    plugin = FallbackPlugin(cooldowns, chat_request.parse)
    with pytest.raises(Reject) as raised:
        await plugin.on_request_body(_request(), b'{"model":"clew/free","messages":[{"role":"user","content":"hi"}]}')
    assert raised.value.status == 429 and raised.value.headers["retry-after"] == "14"


async def test_a_cooling_candidate_is_left_out_of_the_subset():
    cooldowns = MemoryCooldowns()
    await cooldowns.cool("groq", 30)
    plugin, ctx = FallbackPlugin(cooldowns, chat_request.parse), _request()
    await plugin.on_request_body(ctx, b'{"model":"clew/free","messages":[{"role":"user","content":"hi"}]}')
    assert ctx.mutation.set_headers["x-clew-provider"] == "clew/free#6"  # candidates 1 and 2, not groq


async def test_a_translated_request_for_a_router_goes_to_its_candidates_as_chat():
    plugin, ctx = FallbackPlugin(MemoryCooldowns(), json_body.parse), _request("anthropic_messages")
    await plugin.on_request_body(ctx, json.dumps({"model": "clew/free", "max_tokens": 50, "system": "Be brief.",
                                                  "messages": [{"role": "user", "content": "hi"}]}).encode())
    sent = json.loads(ctx.mutation.body)
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert sent["max_tokens"] == 50 and ctx.translator.client_api == "anthropic_messages"
    assert ctx.state.router == "clew/free" and ctx.state.request == sent


class _Keys:
    """ProviderKeys without a database: acct_1 has its own groq key."""

    async def key(self, account_id: str, provider: str) -> str | None:
        return "sk-own-groq" if (account_id, provider) == ("acct_1", "groq") else None


def _attempt(cooldowns, model: str = "groq/llama-3.1-8b") -> Attempt:
    return Attempt(RuntimeConfig(ROOT / "gateway.yaml", env={}), cooldowns, _Keys(), model)


async def test_an_attempt_uses_the_accounts_own_key_and_says_so():
    attempt = _attempt(MemoryCooldowns())
    set_headers, remove = await attempt.request_headers({"x-clew-account": "acct_1"})
    assert set_headers["authorization"] == "Bearer sk-own-groq" and remove == ["x-clew-account"]
    assert (await attempt.response_headers(200, {}))["x-clew-key-source"] == "byok"


async def test_an_attempt_without_an_own_key_uses_the_pool_key():
    attempt = _attempt(MemoryCooldowns(), "nvidia/llama-3.1-8b")
    set_headers, _ = await attempt.request_headers({"x-clew-account": "acct_1"})
    assert set_headers["authorization"] != "Bearer sk-own-groq"
    # Said even for the pool: a provider's own x-clew-key-source: byok is overwritten, not believed.
    assert (await attempt.response_headers(200, {"x-clew-key-source": "byok"}))["x-clew-key-source"] == "pool"


async def test_a_429_to_the_accounts_own_key_does_not_cool_the_provider_down():
    cooldowns = MemoryCooldowns()
    attempt = _attempt(cooldowns)
    await attempt.request_headers({"x-clew-account": "acct_1"})
    await attempt.response_headers(429, {"retry-after": "30"})
    assert await cooldowns.remaining(["groq"]) == {}
    pool = _attempt(cooldowns)
    await pool.request_headers({"x-clew-account": "acct_2"})
    await pool.response_headers(429, {"retry-after": "30"})
    assert set(await cooldowns.remaining(["groq"])) == {"groq"}
