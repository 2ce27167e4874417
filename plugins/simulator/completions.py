"""Deterministic answers: the same messages always get the same content and the same usage."""
import hashlib
import json
from dataclasses import dataclass

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
class Completion:
    words: list[str]  # one word is one completion token
    prompt_tokens: int
    finish_reason: str

    @property
    def completion_tokens(self) -> int:
        return len(self.words)

    @property
    def content(self) -> str:
        return " ".join(self.words)

    def usage(self) -> dict:
        prompt, completion = self.prompt_tokens, len(self.words)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def plan(messages: list, max_tokens: int | None, prompt_override: int | None = None,
         completion_override: int | None = None) -> Completion:
    seed = _seed(messages)
    wanted = completion_override if completion_override is not None else MIN_COMPLETION + seed % (
        MAX_COMPLETION - MIN_COMPLETION + 1)
    capped = max_tokens is not None and max_tokens < wanted
    count = max_tokens if capped else wanted
    prompt = prompt_override if prompt_override is not None else prompt_tokens(messages)
    if _has_image(messages) and completion_override is None:
        words = TRANSCRIPTION[:max_tokens] if max_tokens is not None else TRANSCRIPTION
        return Completion(list(words), prompt, "length" if len(words) < len(TRANSCRIPTION) else "stop")
    return Completion(_words(seed, count), prompt, "length" if capped else "stop")


def _has_image(messages: list) -> bool:
    return any(isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"])
               for m in messages)


def prompt_tokens(messages: list) -> int:
    return sum(_message_tokens(message) for message in messages)


def _message_tokens(message: dict) -> int:
    content = message.get("content")
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
