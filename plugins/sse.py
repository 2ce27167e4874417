"""An OpenAI server-sent-event stream, passed through chunk by chunk while its usage is read.

Providers send cumulative usage, so the latest one wins (never a sum). The usage chunk is priced:
its `usage.cost_usd` is added when the client asked for usage and the chunk is dropped when it did
not (the gateway always asks upstream), and an SSE comment with the cost precedes `data: [DONE]`.
"""
import json
from collections.abc import Callable

DONE = b"[DONE]"


class UsageStream:
    def __init__(self, client_wants_usage: bool, price_usage: Callable[[dict], str]):
        self.client_wants_usage = client_wants_usage
        self.price_usage = price_usage  # usage -> cost in USD as a decimal string
        self.usage: dict | None = None
        self.done = False
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

    def _event(self, event: bytes) -> bytes:
        # Fast path: most chunks carry content only (or a null usage) and pass untouched.
        if b'"usage":{' not in event.replace(b" ", b"") and DONE not in event:
            return event + b"\n\n"
        payload = _data(event)
        if payload == DONE:
            self.done = True
            return self.cost_comment() + event + b"\n\n"
        try:
            message = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return event + b"\n\n"
        return self._priced(message, event)

    def _priced(self, message: dict, event: bytes) -> bytes:
        usage = message.get("usage")
        if not isinstance(usage, dict):
            return event + b"\n\n"
        self.usage = usage
        if message.get("choices"):  # usage riding on a content chunk: keep the content
            return event + b"\n\n"
        if not self.client_wants_usage:
            return b""
        message["usage"] = {**usage, "cost_usd": self.price_usage(usage)}
        return b"data: " + json.dumps(message, separators=(",", ":")).encode() + b"\n\n"


def _data(event: bytes) -> bytes:
    """The joined `data:` lines of one event."""
    lines = [line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines).strip()


def error_event(message: str, code: str) -> bytes:
    body = {"error": {"message": message, "type": "upstream_error", "param": None, "code": code}}
    return b"data: " + json.dumps(body).encode() + b"\n\n"
