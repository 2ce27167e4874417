"""A response's `model` as the client named it: the id it can request (`groq/llama4`), not the
provider's name for it (`meta-llama/llama-4-maverick-…`); for a router, the id of the model that served.

Rewritten in the bytes, so the rest of the body (and of every stream chunk) passes as the provider
sent it. Inside a JSON string a quote is escaped, so `"model":"…"` only matches a real key.
"""
import json
import re

_MODEL = re.compile(rb'"model"\s*:\s*"[^"\\]*(?:\\.[^"\\]*)*"')


class Renamer:
    """body -> the body with every `"model": "…"` naming `model_id`."""

    def __init__(self, model_id: str):
        self.replacement = b'"model":' + json.dumps(model_id).encode()
        self._seen: bytes | None = None  # the provider's `"model":"…"`: a stream repeats it byte for byte

    def __call__(self, body: bytes) -> bytes:
        if self._seen is not None and self._seen in body:  # the hot path: a plain replace
            return body.replace(self._seen, self.replacement)
        found = _MODEL.search(body)
        if found is None:
            return body
        self._seen = found.group(0)
        return _MODEL.sub(lambda _: self.replacement, body)

