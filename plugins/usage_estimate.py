"""What a request counts in tokens: the provider's usage, or an estimate where none arrived.

The estimate is about four bytes of UTF-8 text a token (a bit over for English, under for scripts
that need more bytes a character: they are counted by bytes, not characters), plus a little per
message and per image. The quota reserves with it before the call, and a stream that ended before
its usage arrived (the client hung up, the provider reset) is billed with it: its prompt as the
request's estimate, its completion as the text actually relayed to the client. A JSON answer that
never came through (the client left while Envoy held it whole) is billed for its prompt's estimate.
"""
import json
from dataclasses import dataclass

BYTES_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
TOKENS_PER_IMAGE = 85
# Request fields the provider reads as part of the prompt, besides the messages.
PROMPT_FIELDS = ("tools", "functions", "response_format", "tool_choice")


def tokens_of_bytes(size: int) -> int:
    return -(-size // BYTES_PER_TOKEN)  # rounded up: any text relayed is at least one token


def text_tokens(text) -> int:
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    return tokens_of_bytes(len(text) if text.isascii() else len(text.encode(errors="replace")))


def _part_tokens(part) -> int:
    if not isinstance(part, dict):
        return 0
    if part.get("type") == "image_url":
        return TOKENS_PER_IMAGE
    if part.get("type") == "text":
        return text_tokens(part.get("text") or "")
    return text_tokens(part)  # audio, files...: their JSON as text over-estimates, never misses them


def _message_tokens(message) -> int:
    if not isinstance(message, dict):
        return 0
    tokens = TOKENS_PER_MESSAGE
    content = message.get("content")
    if isinstance(content, str):
        tokens += text_tokens(content)
    elif isinstance(content, list):
        tokens += sum(_part_tokens(part) for part in content)
    return tokens + sum(text_tokens(message[key]) for key in ("tool_calls", "function_call") if message.get(key))


def prompt_tokens(request: dict) -> int:
    """The prompt of a chat-completions request, estimated."""
    messages = request.get("messages")
    tokens = sum(_message_tokens(m) for m in messages) if isinstance(messages, list) else 0
    return tokens + sum(text_tokens(request[key]) for key in PROMPT_FIELDS if request.get(key))


def completion_cap(request: dict, default: int) -> int:
    cap = request.get("max_completion_tokens") or request.get("max_tokens")
    return cap if isinstance(cap, int) and not isinstance(cap, bool) and cap > 0 else default


@dataclass(frozen=True)
class Counted:
    prompt_tokens: int
    completion_tokens: int
    unit_tokens: int = 0     # images and videos, in tokens of the quota
    estimated: bool = False  # a stream that ended without the provider's usage

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens + self.unit_tokens


def _ints(usage: dict) -> tuple[int, int]:
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (prompt if isinstance(prompt, int) else 0), (completion if isinstance(completion, int) else 0)


def counted(state) -> Counted:
    """What the request counts (once computed, the same for the quota and the ledger); `state` is the
    request's plugins.context.RequestState."""
    if state.counted is None:
        state.counted = _count(state)
    return state.counted


def _count(state) -> Counted:
    model = state.model
    units = state.units_served * (model.unit_tokens if model is not None else 0)
    stream = state.sse
    if stream is not None and stream.usage is None:
        # Ended before the provider's usage (or the provider never sent it): what went through.
        return Counted(prompt_tokens(state.request or {}), stream.completion_tokens(), units, estimated=True)
    if stream is None and state.usage is None and state.via_upstream and (state.status or 0) < 400:
        # A JSON answer that never came through whole (the client left while Envoy held it): its prompt.
        prompt = state.reserve_tokens if state.reserve_tokens is not None else prompt_tokens(state.request or {})
        return Counted(prompt, 0, units, estimated=True)
    return Counted(*_ints(state.usage or {}), units)
