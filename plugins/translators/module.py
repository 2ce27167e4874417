"""A translator written as a pure module, adapted to the Translator interface (plugins.translators.base).

Such a module works on dicts only and exposes:
- `to_provider_request(body: dict, model: str) -> dict` (`model`: the provider's name for it);
- `to_client_response(chat: dict, model: str) -> dict` (`model`: the id the client may request);
- `StreamTranslator(model: str, request_id: str)` with `feed(chunk: dict) -> list[bytes]` (one provider
  event in, the client's SSE frames out) and `finish(usage: dict | None, cost_usd: str | None) -> list[bytes]`
  (the last frames, given the provider's usage and its price);
- `client_error(status, message, code, type_, param) -> tuple[int, dict]`;
- optionally `stream_error(message, code) -> bytes`, an error told inside a started stream, or a
  `StreamTranslator.error(status, message, code) -> list[bytes]` that also ends its stream's lifecycle;
- optionally a `request=` parameter of `to_client_response` and `StreamTranslator`: the client's request,
  whose fields the answer echoes (the Responses API does); `for_request` binds it per request.

The adapter does the framing: it splits the provider's SSE stream into events, parses each one,
keeps the latest usage (providers send it cumulative) and measures the completion text relayed, so
a stream cut short is billed like a chat stream (plugins.usage_estimate).
"""
from __future__ import annotations

import inspect
import json

from plugins.context import Reject
from plugins.provider_call import encode
from plugins.sse import DONE, EventRelay, event_data, text_bytes
from plugins.translators.base import PriceUsage, Usage
from plugins.translators.openai_chat_openai_chat import normalized


class TranslatedStream(EventRelay):
    def __init__(self, events, price: PriceUsage, stream_error=None):
        super().__init__()
        self.events, self.price, self._stream_error = events, price, stream_error

    def error_event(self, message: str, code: str) -> bytes:
        if hasattr(self.events, "error"):  # the translator closes its stream as its API does
            return b"".join(self.events.error(502, message, code))
        if self._stream_error is not None:
            return self._stream_error(message, code)
        body = {"type": "error", "error": {"type": "api_error", "message": message, "code": code}}
        return b"event: error\ndata: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"

    def _event(self, event: bytes) -> bytes:
        payload = event_data(event)
        if not payload:
            return b""
        if payload == DONE:
            self.done = True
            usage = self.usage or {}
            return b"".join(self.events.finish(self.usage, self.price(usage)))
        try:
            message = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return b""
        if not isinstance(message, dict):
            return b""
        if isinstance(message.get("usage"), dict):
            self.usage = message["usage"]
        self.relayed_bytes += text_bytes(event)
        return b"".join(self.events.feed(message))


class ModuleTranslator:
    def __init__(self, module, client_api: str, provider_api: str, client_request: dict | None = None):
        self.module, self.client_api, self.provider_api = module, client_api, provider_api
        self._echoes = "request" in inspect.signature(module.to_client_response).parameters
        self._echo = {"request": client_request} if self._echoes and client_request is not None else {}

    def for_request(self, body: dict) -> ModuleTranslator:
        """This translator for one request: its answers echo the client's request where the API does."""
        return ModuleTranslator(self.module, self.client_api, self.provider_api, body) if self._echoes else self

    def request(self, body: dict, model) -> dict:
        provider = self.module.to_provider_request(body, model.upstream_model)
        if provider.get("stream") is True:  # always asked upstream: metering prices the usage chunk
            provider["stream_options"] = {**(provider.get("stream_options") or {}), "include_usage": True}
        return provider

    def response(self, body: bytes, model_id: str) -> bytes:
        try:
            chat = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            chat = None
        if not isinstance(chat, dict):
            raise Reject(502, "The provider's answer could not be read: not a JSON object.", "upstream_error",
                         reason="upstream_invalid")
        return encode(self.module.to_client_response(chat, model_id, **self._echo))

    def stream(self, model_id: str, request_id: str, client_wants_usage: bool, price: PriceUsage) -> TranslatedStream:
        return TranslatedStream(self.module.StreamTranslator(model_id, request_id, **self._echo), price,
                                getattr(self.module, "stream_error", None))

    def usage(self, usage: dict | None) -> Usage:
        return normalized(usage)  # the provider side of these modules is OpenAI chat

    def error(self, status: int, message: str, code: str | None, type_: str | None,
              param: str | None = None) -> tuple[int, dict]:
        return self.module.client_error(status, message, code, type_, param)
