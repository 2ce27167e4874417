"""An OpenAI server-sent-event stream, passed through chunk by chunk while its usage is read.

Providers send cumulative usage, so the latest one wins (never a sum). The usage chunk is priced:
its `usage.cost_usd` is added when the client asked for usage and the chunk is dropped when it did
not (the gateway always asks upstream), and an SSE comment with the cost precedes `data: [DONE]`.
Every chunk's `model` becomes the id the client can request, and the completion text relayed is
measured, so a stream that ends before its usage can still be billed (plugins.usage_estimate).
"""
import json
from collections.abc import Callable

from plugins.response_model import renamer
from plugins.usage_estimate import tokens_of_bytes

DONE = b"[DONE]"
DELTA_TEXT = ("content", "reasoning_content", "reasoning", "refusal")  # what a delta relays as text


class UsageStream:
    def __init__(self, client_wants_usage: bool, price_usage: Callable[[dict], str], model_id: str):
        self.client_wants_usage = client_wants_usage
        self.price_usage = price_usage  # usage -> cost in USD as a decimal string
        self.rename = renamer(model_id)
        self.usage: dict | None = None
        self.done = False
        self.relayed_bytes = 0  # completion text (and tool-call arguments) relayed, in UTF-8 bytes
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        """The complete events in `pending + chunk`, rewritten; a partial last event waits."""
        data = self._pending + chunk.replace(b"\r\n", b"\n")
        cut = data.rfind(b"\n\n")
        if cut < 0:
            self._pending = data
            return b""
        self._pending = data[cut + 2:]
        return b"".join(self._event(event) for event in data[:cut].split(b"\n\n"))

    def finish(self) -> bytes:
        """Whatever is left at the end of the stream."""
        rest, self._pending = self._pending, b""
        return self._event(rest.rstrip(b"\n")) if rest.strip() else b""

    def cost_comment(self) -> bytes:
        return f": x-cost-usd={self.price_usage(self.usage or {})}\n\n".encode()

    def completion_tokens(self) -> int:
        """The completion relayed so far, estimated from its text."""
        return tokens_of_bytes(self.relayed_bytes)

    def _event(self, event: bytes) -> bytes:
        payload = _data(event)
        if payload == DONE:
            self.done = True
            return self.cost_comment() + event + b"\n\n"
        try:
            message = json.loads(payload) if payload.startswith(b"{") else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            message = None
        if not isinstance(message, dict):  # comments, keep-alives, what we cannot read: untouched
            return event + b"\n\n"
        self.relayed_bytes += _relayed_bytes(message)
        event = self.rename(event) if "model" in message else event
        usage = message.get("usage")
        return event + b"\n\n" if not isinstance(usage, dict) else self._priced(message, usage, event)

    def _priced(self, message: dict, usage: dict, event: bytes) -> bytes:
        self.usage = usage
        if message.get("choices"):  # usage riding on a content chunk: keep the content
            return event + b"\n\n"
        if not self.client_wants_usage:
            return b""
        message["usage"] = {**usage, "cost_usd": self.price_usage(usage)}
        return self.rename(b"data: " + json.dumps(message, separators=(",", ":")).encode()) + b"\n\n"


def _relayed_bytes(message: dict) -> int:
    """The completion text one chunk carries: delta text and tool-call names and arguments."""
    size = 0
    for choice in _list(message.get("choices")):
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        size += sum(_size(delta.get(key)) for key in DELTA_TEXT)
        for call in _list(delta.get("tool_calls")):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                size += _size(function.get("name")) + _size(function.get("arguments"))
    return size


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _size(text) -> int:
    if not isinstance(text, str):
        return 0
    return len(text) if text.isascii() else len(text.encode(errors="replace"))


def _data(event: bytes) -> bytes:
    """The joined `data:` lines of one event."""
    lines = [line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines).strip()


def error_event(message: str, code: str) -> bytes:
    body = {"error": {"message": message, "type": "upstream_error", "param": None, "code": code}}
    return b"data: " + json.dumps(body).encode() + b"\n\n"
