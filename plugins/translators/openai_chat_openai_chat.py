"""openai_chat -> openai_chat: the identity, for every OpenAI-compatible provider.

Nothing is parsed that need not be: a buffered answer and every stream chunk get their `model`
renamed in the bytes (plugins.response_model), and the stream's usage chunk alone is parsed, priced
and, when the client did not ask for usage, dropped (plugins.sse.UsageStream).
"""
from __future__ import annotations

from plugins.response_model import Renamer
from plugins.sse import UsageStream
from plugins.translators.base import PriceUsage, Usage
from plugins.translators.openai_chat_usage import cached_tokens
from schemas.errors import error_body


def _int(value) -> int:
    return value if isinstance(value, int) else 0  # as the ledger counts it (plugins.usage_estimate)


def normalized(usage: dict | None) -> Usage:
    """OpenAI's usage, with cached prompt tokens as OpenAI (`prompt_tokens_details.cached_tokens`) or
    DeepSeek (`prompt_cache_hit_tokens`) report them; both count them inside `prompt_tokens`."""
    if not isinstance(usage, dict):
        return Usage()
    prompt = _int(usage.get("prompt_tokens"))
    return Usage(prompt, _int(usage.get("completion_tokens")), min(cached_tokens(usage), max(prompt, 0)))


class OpenAIChatToOpenAIChat:
    client_api = provider_api = "openai_chat"

    def for_request(self, body: dict) -> OpenAIChatToOpenAIChat:
        return self  # nothing of the request is echoed: the provider's answer already is the client's

    def request(self, body: dict, model) -> dict:
        body["model"] = model.upstream_model
        if body.get("stream") is True:  # always asked upstream: metering prices the usage chunk
            options = body.get("stream_options")
            body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
        return body

    def response(self, body: bytes, model_id: str) -> bytes:
        return Renamer(model_id)(body)

    def stream(self, model_id: str, request_id: str, client_wants_usage: bool, price: PriceUsage) -> UsageStream:
        return UsageStream(client_wants_usage, price, model_id)

    def usage(self, usage: dict | None) -> Usage:
        return normalized(usage)

    def error(self, status: int, message: str, code: str | None, type_: str | None,
              param: str | None = None) -> tuple[int, dict]:
        return status, error_body(status, message, code, param, type_)


TRANSLATOR = OpenAIChatToOpenAIChat()
