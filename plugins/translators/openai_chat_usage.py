"""What the translators share about the OpenAI chat side: its usage, normalized, and SSE framing.

Providers report cached prompt tokens two ways: OpenAI's `prompt_tokens_details.cached_tokens` and
DeepSeek's `prompt_cache_hit_tokens`. `prompt_tokens` counts them in both (unlike Anthropic's
`input_tokens`, which does not), so `input_tokens` here is the whole prompt and cached tokens a part of it.
"""
import json


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def cached_tokens(usage: dict) -> int:
    details = usage.get("prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return cached or _int(usage.get("prompt_cache_hit_tokens"))


def normalized(usage: dict | None) -> dict | None:
    """{input_tokens, output_tokens, cached_input_tokens, reasoning_tokens} of an OpenAI chat usage object."""
    if not isinstance(usage, dict):
        return None
    details = usage.get("completion_tokens_details")
    reasoning = _int(details.get("reasoning_tokens")) if isinstance(details, dict) else 0
    prompt = _int(usage.get("prompt_tokens"))
    return {"input_tokens": prompt, "output_tokens": _int(usage.get("completion_tokens")),
            "cached_input_tokens": min(cached_tokens(usage), prompt), "reasoning_tokens": reasoning}


def sse_frame(event: str, data: dict) -> bytes:
    """One named server-sent event, as Anthropic's and the Responses API's streams send them."""
    return f"event: {event}\ndata: ".encode() + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def cost_comment(cost_usd: str) -> bytes:
    """The cost of a stream as an SSE comment, which clients skip (the chat stream sends the same line)."""
    return f": x-cost-usd={cost_usd}\n\n".encode()


def id_suffix(seed: str | None, fallback: str) -> str:
    """An id's tail from a request id or a provider's id: its letters and digits only."""
    tail = "".join(ch for ch in (seed or "") if ch.isalnum())
    return tail or fallback
