"""A response's `model` as the client named it: the id it can request (`groq/llama4`), not the
provider's name for it (`meta-llama/llama-4-maverick-…`); for a router, the id of the model that served.

Rewritten in the bytes, so the rest of the body (and of every stream chunk) passes as the provider
sent it. Inside a JSON string a quote is escaped, so `"model":"…"` only matches a real key.
"""
import json
import re
from collections.abc import Callable

_MODEL = re.compile(rb'"model"\s*:\s*"(?:[^"\\]|\\.)*"')


def renamer(model_id: str) -> Callable[[bytes], bytes]:
    """body -> the body with every `"model": "…"` naming `model_id`."""
    replacement = b'"model":' + json.dumps(model_id).encode()

    def rename(body: bytes) -> bytes:
        return _MODEL.sub(lambda _: replacement, body)
    return rename
