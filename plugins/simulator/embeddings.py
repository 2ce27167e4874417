"""`POST /{provider}/v1/embeddings`: OpenAI's embeddings API, which Mistral speaks too.

Vectors are deterministic: each input's hash seeds its vector, so the same input always gets the same
unit vector, and a shorter `dimensions` is the full vector's prefix renormalised (as text-embedding-3's
shortening works). `encoding_format: "base64"` sends the same float32 values as little-endian bytes.
Usage is `prompt_tokens` (one per 4 characters of a string, one per element of a token array, or
x-sim-prompt-tokens) and `total_tokens`, equal. Each call is a ledger entry with `api` "embeddings",
carrying the `x-request-id` the request came with (Envoy's, which the gateway's client also sees).
"""
import array
import base64
import hashlib
import json
import math
import sys
import time
import uuid

from aiohttp import web

from plugins.simulator.bodies import PROVIDER_LIMIT_HEADERS, dumps
from plugins.simulator.chat import _bearer_key, _read_json
from plugins.simulator.errors import ApiError, invalid
from plugins.simulator.images import injected_failure
from plugins.simulator.ledger import key_fingerprint
from plugins.simulator.options import parse_options
from plugins.simulator.state import STATE, SimState

# Model → (default dimensions, whether `dimensions` may shorten it). Other models: 1536, shortenable.
MODELS = {"text-embedding-3-small": (1536, True), "text-embedding-3-large": (3072, True),
          "text-embedding-ada-002": (1536, False), "mistral-embed": (1024, False)}
DEFAULT_MODEL = (1536, True)
MAX_INPUTS = 2048          # items in one request, as OpenAI
MAX_INPUT_TOKENS = 8192    # tokens in one input, as OpenAI's embedding models
MAX_TOKEN_ID = 1_000_000   # a token id above any real vocabulary is a client bug


async def handle_embeddings(request: web.Request) -> web.Response:
    state: SimState = request.app[STATE]
    received_at = time.time()
    try:
        key = _bearer_key(request.headers)
        _refuse_rejected_key(state, request, key, received_at)
        body = await _read_json(request)
        inputs, dimensions, encoding = _parse(body)
        options = parse_options(request.headers, state.defaults)
    except ApiError as error:
        return error.response()
    entry = _entry(request, key, body["model"], received_at)
    failure = await injected_failure(state, options, entry, body["model"])
    if failure is not None:
        return failure
    counted = sum(_tokens(item) for item in inputs)
    prompt_tokens = options.prompt_tokens if options.prompt_tokens is not None else counted
    entry.update(id=f"emb-sim-{uuid.uuid4().hex}", status=200, prompt_tokens=prompt_tokens, inputs=len(inputs),
                 dimensions=dimensions, encoding_format=encoding)
    state.ledger.record(entry)
    data = [{"object": "embedding", "index": index, "embedding": _encoded(vector(item, dimensions), encoding)}
            for index, item in enumerate(inputs)]
    usage = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    answer = {"object": "list", "data": data, "model": body["model"], "usage": usage}
    if entry["provider"] == "mistral":  # Mistral's answer has an id and a zero completion count besides
        answer = {"id": entry["id"], **answer, "usage": usage | {"completion_tokens": 0}}
    headers = {**PROVIDER_LIMIT_HEADERS, "x-request-id": entry["request_id"] or entry["id"]}
    response = web.json_response(answer, dumps=dumps, headers=headers)
    response.enable_compression()
    return response


def _entry(request: web.Request, key: str, model, received_at: float) -> dict:
    return {"id": None, "api": "embeddings", "provider": request.match_info["provider"], "path": request.path,
            "model": model, "stream": False, "status": 0, "prompt_tokens": 0, "completion_tokens": 0,
            "cached_tokens": 0, "inputs": 0, "dimensions": None, "encoding_format": None,
            "request_id": request.headers.get("x-request-id"), "key_sha256": key_fingerprint(key),
            "received_at": received_at, "disconnected": False}


def _refuse_rejected_key(state: SimState, request: web.Request, key: str, received_at: float) -> None:
    """As for chat: a key starting with `invalid` is a provider refusing it, recorded with no tokens."""
    if key.startswith("invalid"):
        state.ledger.record(_entry(request, key, None, received_at) | {"status": 401})
        raise ApiError(401, f"Incorrect API key provided: {key[:3]}***{key[-4:]}.", code="invalid_api_key")


# --- the request, validated with OpenAI's wording -------------------------------------------------

def _parse(body) -> tuple[list, int, str]:
    """(inputs, dimensions, encoding_format) of a valid request; ApiError otherwise."""
    if not isinstance(body, dict):
        raise invalid(None, "The request body must be a JSON object.")
    model = body.get("model")
    if model is None:
        raise invalid("model", "You must provide a model parameter.", "missing_required_parameter")
    if not isinstance(model, str) or not model:
        raise invalid("model", "Invalid type for 'model': expected a non-empty string.", "invalid_type")
    if "input" not in body:
        raise invalid("input", "Missing required parameter: 'input'.", "missing_required_parameter")
    encoding = body.get("encoding_format")
    if encoding is None:
        encoding = "float"
    elif encoding not in ("float", "base64"):
        raise invalid("encoding_format", f"{encoding!r} is not one of ['float', 'base64'] - 'encoding_format'",
                      "invalid_value")
    return _inputs(body["input"]), _dimensions(model, body.get("dimensions")), encoding


def _inputs(raw) -> list:
    """A string, a token array, or a list of either, as a list of inputs."""
    if isinstance(raw, str) or (isinstance(raw, list) and raw and all(_is_token(t) for t in raw)):
        items = [raw]
    elif isinstance(raw, list) and raw:
        items = raw
    else:
        raise invalid("input", "'$.input' is invalid. Please check the API reference: "
                               "https://platform.openai.com/docs/api-reference.", "invalid_value")
    if len(items) > MAX_INPUTS:
        raise invalid("input", f"Invalid 'input': array too long. Expected an array with maximum length "
                               f"{MAX_INPUTS}, but got an array with length {len(items)} instead.",
                      "array_above_max_length")
    for index, item in enumerate(items):
        _check_item(item, index)
    return items


def _is_token(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_item(item, index: int) -> None:
    valid = (isinstance(item, str) and item) or (
        isinstance(item, list) and item and all(_is_token(t) and 0 <= t <= MAX_TOKEN_ID for t in item))
    if not valid:
        raise invalid("input", f"'$.input[{index}]' is invalid. Please check the API reference: "
                               "https://platform.openai.com/docs/api-reference.", "invalid_value")
    tokens = _tokens(item)
    if tokens > MAX_INPUT_TOKENS:
        raise invalid("input", f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however you "
                               f"requested {tokens} tokens in input[{index}]. Please reduce your prompt.",
                      "context_length_exceeded")


def _dimensions(model: str, raw) -> int:
    default, shortenable = MODELS.get(model, DEFAULT_MODEL)
    if raw is None:
        return default
    if not shortenable:
        raise invalid("dimensions", "This model does not support specifying dimensions.", "invalid_value")
    if not _is_token(raw) or not 1 <= raw <= default:
        raise invalid("dimensions", f"Invalid 'dimensions': expected an integer between 1 and {default}, "
                                    f"got {raw!r}.", "invalid_value")
    return raw


def _tokens(item) -> int:
    return len(item) if isinstance(item, list) else -(-len(item) // 4)


# --- the vectors ------------------------------------------------------------------------------------

def vector(item, dimensions: int) -> list[float]:
    """A unit vector seeded by the input, as float32 values: what base64 carries is exactly this."""
    canonical = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
    raw = hashlib.shake_256(canonical.encode()).digest(4 * dimensions)
    # uint32 → [-1, 1): the prefix of a longer digest is the same, so shorter vectors are prefixes.
    values = [word / 2**31 - 1.0 for word in array.array("I", raw)]  # "I" is 4 bytes on every platform we run
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return array.array("f", (v / norm for v in values)).tolist()


def _encoded(values: list[float], encoding: str):
    if encoding == "float":
        return values
    packed = array.array("f", values)
    if sys.byteorder == "big":
        packed.byteswap()  # the API sends little-endian float32
    return base64.b64encode(packed.tobytes()).decode()
