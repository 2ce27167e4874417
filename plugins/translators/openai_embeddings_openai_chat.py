"""openai_embeddings -> openai_chat: OpenAI's embeddings API to an OpenAI-compatible provider.

A provider with `adapter: openai_chat` speaks OpenAI's API; its `embeddings_path` is OpenAI's
embeddings API (Mistral's too), so this is the identity but for `model`: the provider's name going
up, the id the client may request coming back (renamed in the bytes: a vector is never parsed).
Embeddings answer JSON only, never a stream.
"""
from __future__ import annotations

from plugins.response_model import Renamer
from plugins.translators.base import PriceUsage, Usage
from plugins.translators.openai_chat_openai_chat import normalized
from schemas.errors import error_body


class OpenAIEmbeddingsToOpenAIChat:
    client_api, provider_api = "openai_embeddings", "openai_chat"

    def for_request(self, body: dict) -> OpenAIEmbeddingsToOpenAIChat:
        return self  # nothing of the request is echoed

    def request(self, body: dict, model) -> dict:
        return {**body, "model": model.upstream_model}

    def response(self, body: bytes, model_id: str) -> bytes:
        return Renamer(model_id)(body)

    def stream(self, model_id: str, request_id: str, client_wants_usage: bool, price: PriceUsage):
        raise NotImplementedError("embeddings are never streamed")  # metering streams only text/event-stream

    def usage(self, usage: dict | None) -> Usage:
        return normalized(usage)  # prompt_tokens: what is billed (no completion)

    def error(self, status: int, message: str, code: str | None, type_: str | None,
              param: str | None = None) -> tuple[int, dict]:
        return status, error_body(status, message, code, param, type_)


TRANSLATOR = OpenAIEmbeddingsToOpenAIChat()
