"""An OpenAI server-sent-event stream, passed through chunk by chunk while its usage is read.

Providers send cumulative usage, so the latest one wins (never a sum). The usage chunk is priced:
its `usage.cost_usd` is added when the client asked for usage and the chunk is dropped when it did
not (the gateway always asks upstream), and an SSE comment with the cost precedes `data: [DONE]`.
Every chunk's `model` becomes the id the client can request, and the completion text relayed is
measured, so a stream that ends before its usage can still be billed (plugins.usage_estimate).
"""
import json
from collections.abc import Callable

from plugins.response_model import Renamer
from plugins.usage_estimate import tokens_of_bytes

DONE = b"[DONE]"
# Keys whose string values are completion text a chunk relays: content, and now and then reasoning
# (DeepSeek, OpenRouter), a refusal, or a tool call's name and arguments.
CONTENT = b'"content":'
_RARE_KEYS = (b'"reasoning_content":', b'"reasoning":', b'"refusal":')


class EventRelay:
    """The framing every relayed stream shares: split into whole events, rewrite each (`_event`),
    keep the latest usage, and measure the completion text relayed."""

    def __init__(self):
        self.usage: dict | None = None
        self.done = False
        self.relayed_bytes = 0  # completion text (and tool-call arguments) relayed, in UTF-8 bytes
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        """The complete events in `pending + chunk`, rewritten; a partial last event waits."""
        events, self._pending = split_events(self._pending, chunk)
        return b"".join(self._event(event) for event in events)

    def finish(self) -> bytes:
        """Whatever is left at the end of the stream."""
        rest, self._pending = self._pending, b""
        return self._event(rest.rstrip(b"\n")) if rest.strip() else b""

    def completion_tokens(self) -> int:
        """The completion relayed so far, estimated from its text."""
        return tokens_of_bytes(self.relayed_bytes)

    def _event(self, event: bytes) -> bytes:
        raise NotImplementedError


class UsageStream(EventRelay):
    def __init__(self, client_wants_usage: bool, price_usage: Callable[[dict], str], model_id: str):
        super().__init__()
        self.client_wants_usage = client_wants_usage
        self.price_usage = price_usage  # usage -> cost in USD as a decimal string
        self.rename = Renamer(model_id)

    def cost_comment(self) -> bytes:
        return f": x-cost-usd={self.price_usage(self.usage or {})}\n\n".encode()

    def error_event(self, message: str, code: str) -> bytes:
        return error_event(message, code)

    def _event(self, event: bytes) -> bytes:
        # Fast path: most chunks carry content only (or a null usage): measured and renamed, not parsed.
        if b'"usage":{' not in event.replace(b" ", b"") and DONE not in event:
            self.relayed_bytes += text_bytes(event)
            return self.rename(event) + b"\n\n"
        payload = event_data(event)
        if payload == DONE:
            self.done = True
            return self.cost_comment() + event + b"\n\n"
        self.relayed_bytes += text_bytes(event)
        try:
            message = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            message = None
        usage = message.get("usage") if isinstance(message, dict) else None
        if not isinstance(usage, dict):
            return self.rename(event) + b"\n\n"
        return self._priced(message, usage, self.rename(event))

    def _priced(self, message: dict, usage: dict, event: bytes) -> bytes:
        self.usage = usage
        if message.get("choices"):  # usage riding on a content chunk: keep the content
            return event + b"\n\n"
        if not self.client_wants_usage:
            return b""
        message["usage"] = {**usage, "cost_usd": self.price_usage(usage)}
        return self.rename(b"data: " + json.dumps(message, separators=(",", ":")).encode()) + b"\n\n"


def split_events(pending: bytes, chunk: bytes) -> tuple[list[bytes], bytes]:
    """The complete events in `pending + chunk`, and the partial last one that waits for more."""
    data = pending + chunk.replace(b"\r\n", b"\n")
    cut = data.rfind(b"\n\n")
    if cut < 0:
        return [], data
    return data[:cut].split(b"\n\n"), data[cut + 2:]


def text_bytes(event: bytes) -> int:
    """The completion text one event carries, in UTF-8 bytes: delta text, reasoning, tool-call names
    and arguments. Found by key rather than parsed: this runs on every chunk of every stream."""
    size = _values_size(event, CONTENT)
    if b'"tool_calls"' in event:
        size += _values_size(event, b'"name":') + _values_size(event, b'"arguments":')
    for key in _RARE_KEYS if b'"re' in event else ():
        size += _values_size(event, key)
    return size


def _values_size(event: bytes, key: bytes) -> int:
    size, at = 0, event.find(key)
    while at >= 0:
        at += len(key)
        size += _string_size(event, at)
        at = event.find(key, at)
    return size


def _string_size(event: bytes, at: int) -> int:
    """The UTF-8 size of the JSON string starting at `at` (after blanks); 0 if no string starts there."""
    while at < len(event) and event[at] in b" \t":
        at += 1
    if at >= len(event) or event[at] != 0x22:  # null, a number, an array: no text
        return 0
    end = event.find(b'"', at + 1)
    while end > 0 and _escaped(event, end):
        end = event.find(b'"', end + 1)
    if end < 0:
        return 0
    raw = event[at + 1:end]
    if b"\\" not in raw:
        return len(raw)
    try:
        return len(json.loads(b'"' + raw + b'"').encode(errors="replace"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return len(raw)


def _escaped(event: bytes, quote: int) -> bool:
    backslashes = 0
    while event[quote - 1 - backslashes] == 0x5C:
        backslashes += 1
    return backslashes % 2 == 1


def event_data(event: bytes) -> bytes:
    """The joined `data:` lines of one event."""
    lines = [line[5:].lstrip() for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines).strip()


def error_event(message: str, code: str) -> bytes:
    body = {"error": {"message": message, "type": "upstream_error", "param": None, "code": code}}
    return b"data: " + json.dumps(body).encode() + b"\n\n"
