"""What a translator is: the client's API on one side, the provider's on the other.

A translator `<client API>_<provider API>` (Envoy AI Gateway's naming) maps, for one pair:
- the client's request (a parsed dict) to the provider's request;
- the provider's buffered JSON response to the client's body;
- the provider's stream to the client's, event by event, with the stream's usage read and priced;
- the provider's usage to a normalized one (input, output and cached input tokens);
- an error (status, OpenAI-shaped fields) to the client's error shape and status.

The identity translator (openai_chat_openai_chat) works on bytes and never parses a content chunk
(plugins.sse). Translators for other client APIs are pure modules that work on dicts; `ModuleTranslator`
adapts them (plugins.translators.module).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from plugins.runtime_config import ModelRoute


@dataclass(frozen=True)
class Usage:
    """Usage as every translator reports it: the provider's fields normalized."""
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0  # part of input_tokens, read from the provider's cache


class ClientStream(Protocol):
    """A streamed response on its way to the client: the provider's bytes in, the client's bytes out.

    `usage` is the provider's latest usage (providers send it cumulative), None until it arrived;
    `done` says the provider's stream reached its end marker."""
    usage: dict | None
    done: bool

    def feed(self, chunk: bytes) -> bytes: ...

    def finish(self) -> bytes:
        """What is left to send when the provider's stream ends."""

    def completion_tokens(self) -> int:
        """The completion relayed so far, estimated from its text (a stream cut before its usage)."""

    def error_event(self, message: str, code: str) -> bytes:
        """An error told in the stream, after the response started (the provider hung up)."""


PriceUsage = Callable[[dict], str]  # the provider's usage -> the cost in USD, as a decimal string


class Translator(Protocol):
    client_api: str    # "openai_chat", "anthropic_messages", "openai_responses"...
    provider_api: str  # a provider's `adapter` in gateway.yaml: "openai_chat"...

    def for_request(self, body: dict) -> Translator:
        """The translator for one client request (`body`): one whose answers may echo the request."""

    def request(self, body: dict, model: ModelRoute) -> dict:
        """The provider's request for the client's (checked) `body`, sent to `model`; a stream asks for usage."""

    def response(self, body: bytes, model_id: str) -> bytes:
        """The client's response body for the provider's buffered JSON answer; `model_id` is what the client
        may request (the response names it)."""

    def stream(self, model_id: str, request_id: str, client_wants_usage: bool, price: PriceUsage) -> ClientStream:
        """A reader of the provider's stream that writes the client's."""

    def usage(self, usage: dict | None) -> Usage:
        """The provider's usage object, normalized."""

    def error(self, status: int, message: str, code: str | None, type_: str | None,
              param: str | None = None) -> tuple[int, dict]:
        """The client's status and error body for an error of ours or the provider's."""
