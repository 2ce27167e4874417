"""Deterministic answers: the same messages always get the same content and the same usage."""
import hashlib
import json
from dataclasses import dataclass, replace

from plugins.simulator.tool_arguments import arguments, call_id

IMAGE_TOKENS = 85  # what OpenAI charges for a low-detail image
MESSAGE_OVERHEAD = 4
MIN_COMPLETION, MAX_COMPLETION = 8, 64
WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
    "quebec romeo sierra tango uniform victor whiskey xray yankee zulu amber basil cedar dune ember fern "
    "glade harbor iris jasper kelp lotus meadow nectar onyx pebble quartz river sage thistle umber vale "
    "willow yarrow zephyr arch bridge canyon delta estuary fjord grove heath inlet jetty knoll lagoon mesa"
).split()
# What a vision model "reads" off any image: Thai and English, to prove OCR text passes intact.
TRANSCRIPTION = "ใบเสร็จรับเงิน เลขที่ 0042 Receipt No. 0042 ยอดรวม 1,250 บาท Total 1,250 THB".split()
_LCG_MUL, _LCG_ADD, _MASK = 6364136223846793005, 1442695040888963407, (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str    # call_...
    name: str  # the function called; the arguments are the completion's words joined


@dataclass(frozen=True, slots=True)
class Completion:
    words: list[str]  # one word is one completion token (a fragment of the arguments for a tool call)
    prompt_tokens: int
    finish_reason: str
    tool_call: ToolCall | None = None
    cached_tokens: int | None = None  # prompt tokens reported as read from the provider's cache (x-sim-cached-tokens)
    deepseek_cache_fields: bool = False  # also report them as DeepSeek names them

    @property
    def completion_tokens(self) -> int:
        return len(self.words)

    @property
    def content(self) -> str | None:
        return None if self.tool_call else " ".join(self.words)

    @property
    def arguments(self) -> str:
        return "".join(self.words)

    def usage(self) -> dict:
        prompt, completion = self.prompt_tokens, len(self.words)
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        if self.cached_tokens is None:
            return usage
        usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        if self.deepseek_cache_fields:
            usage.update(prompt_cache_hit_tokens=self.cached_tokens,
                         prompt_cache_miss_tokens=prompt - self.cached_tokens)
        return usage

    def with_cache(self, cached_tokens: int | None, provider: str) -> "Completion":
        """The same answer with `cached_tokens` (at most the prompt) of its prompt served from cache."""
        if cached_tokens is None:
            return self
        return replace(self, cached_tokens=min(cached_tokens, self.prompt_tokens),
                       deepseek_cache_fields=provider == "deepseek")


def plan(messages: list, max_tokens: int | None, prompt_override: int | None = None,
         completion_override: int | None = None, tools: list | None = None, call: dict | None = None) -> Completion:
    """The answer to `messages`: a call of the function `call` (one of `tools`) when given, else text."""
    seed = _seed(messages)
    if call is not None:
        prompt = prompt_override if prompt_override is not None else prompt_tokens(messages) + tools_tokens(tools)
        return _tool_call(seed, call, max_tokens, prompt, completion_override)
    wanted = completion_override if completion_override is not None else MIN_COMPLETION + seed % (
        MAX_COMPLETION - MIN_COMPLETION + 1)
    capped = max_tokens is not None and max_tokens < wanted
    count = max_tokens if capped else wanted
    prompt = prompt_override if prompt_override is not None else prompt_tokens(messages) + tools_tokens(tools)
    if _has_image(messages) and completion_override is None:
        words = TRANSCRIPTION[:max_tokens] if max_tokens is not None else TRANSCRIPTION
        return Completion(list(words), prompt, "length" if len(words) < len(TRANSCRIPTION) else "stop")
    return Completion(_words(seed, count), prompt, "length" if capped else "stop")


def _tool_call(seed: int, function: dict, max_tokens: int | None, prompt: int,
               completion_override: int | None) -> Completion:
    """The arguments cut into `completion_override` fragments, or one per 4 characters."""
    text = arguments(function)
    count = completion_override if completion_override is not None else max(1, -(-len(text) // 4))
    fragments = [text[len(text) * i // count:len(text) * (i + 1) // count] for i in range(count)]
    capped = max_tokens is not None and max_tokens < count
    call = ToolCall(call_id(seed, function["name"]), function["name"])
    return Completion(fragments[:max_tokens] if capped else fragments, prompt, "length" if capped else "tool_calls",
                      call)


def tools_tokens(tools: list | None) -> int:
    """What the tool definitions add to the prompt: one token per 4 characters of their JSON."""
    if not tools:
        return 0
    return -(-len(json.dumps(tools, sort_keys=True, separators=(",", ":"))) // 4)


def _has_image(messages: list) -> bool:
    return any(isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
               for m in messages)


def prompt_tokens(messages: list) -> int:
    return sum(_message_tokens(message) for message in messages)


def _message_tokens(message: dict) -> int:
    content = message.get("content")
    if message.get("tool_calls"):  # an assistant turn that called tools: its calls count as it sent them
        calls = json.dumps(message["tool_calls"], sort_keys=True, separators=(",", ":"))
        return MESSAGE_OVERHEAD + -(-(len(calls) + len(content if isinstance(content, str) else "")) // 4)
    if not isinstance(content, list):
        return MESSAGE_OVERHEAD + -(-len(content or "") // 4)
    text = "".join(part["text"] for part in content if part.get("type") == "text")
    images = sum(1 for part in content if part.get("type") == "image_url")
    return MESSAGE_OVERHEAD + -(-len(text) // 4) + IMAGE_TOKENS * images


def _seed(messages: list) -> int:
    canonical = json.dumps(messages, sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big")


def _words(seed: int, count: int) -> list[str]:
    # A 64-bit LCG seeded from the hash: cheap, and the same seed always yields the same words.
    words, state = [], seed
    for _ in range(count):
        state = (state * _LCG_MUL + _LCG_ADD) & _MASK
        words.append(WORDS[state >> 58])
    return words
