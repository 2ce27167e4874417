"""Validating an OpenAI embeddings request body the way OpenAI does, with the same errors.

`input` is a string, a token array (integers), or a list of either, never empty; `encoding_format`
float or base64; `dimensions` a positive integer no longer than the model's `dimensions.max` in
gateway.yaml (a model without one cannot shorten its vectors); `user` a string.
"""
from plugins import json_body
from plugins.json_body import invalid
from plugins.usage_estimate import text_tokens

MAX_INPUTS = 2048         # items in one request, as OpenAI
ENCODINGS = ("float", "base64")
# Bytes of an answer per vector value, at most: a float32 in JSON text ("-0.0123456789", a comma), or
# in base64 (4 bytes, 4/3 longer); what sizes an answer before it is asked for.
FLOAT_BYTES, BASE64_BYTES = 24, 6
REFERENCE = "Please check the API reference: https://platform.openai.com/docs/api-reference."


def parse(body: bytes) -> dict:
    request = json_body.parse(body)
    if "input" not in request:
        raise invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    _inputs(request["input"])
    encoding = request.get("encoding_format")
    if encoding is not None and encoding not in ENCODINGS:
        raise invalid(f"{encoding!r} is not one of ['float', 'base64'] - 'encoding_format'", "encoding_format")
    user = request.get("user")
    if user is not None and not isinstance(user, str):
        raise invalid("Invalid type for 'user': expected a string.", "user", "invalid_type")
    return request


def check_dimensions(request: dict, model: str, most: int | None) -> None:
    """`dimensions`, if asked for, fits `most`, the model's longest vector (None: it cannot be chosen)."""
    dimensions = request.get("dimensions")
    if dimensions is None:
        return
    if not _is_int(dimensions):
        raise invalid("Invalid type for 'dimensions': expected an integer.", "dimensions", "invalid_type")
    if most is None:
        raise invalid(f"The model `{model}` does not support specifying dimensions.", "dimensions")
    if dimensions < 1:
        raise invalid(f"Invalid 'dimensions': integer below minimum value. Expected a value >= 1, but got "
                      f"{dimensions} instead.", "dimensions", "integer_below_min_value")
    if dimensions > most:
        shown = dimensions if dimensions < 10 ** 30 else f"a number of {len(str(dimensions))} digits"
        raise invalid(f"Invalid 'dimensions': integer above maximum value. Expected a value <= {most} for "
                      f"`{model}`, but got {shown} instead.", "dimensions", "integer_above_max_value")


def check_answer_size(request: dict, dimensions: int, limit: int) -> None:
    """The answer fits the gateway's response buffer: Envoy holds an answer whole to price it (X-Cost-USD),
    and one over `limit` bytes would fail after the provider billed it. Refused before, with the way out."""
    values = len(items(request["input"])) * dimensions
    size = values * (BASE64_BYTES if request.get("encoding_format") == "base64" else FLOAT_BYTES)
    if size > limit:
        raise invalid(f"The embeddings of this request ({len(items(request['input']))} inputs of {dimensions} "
                      f"dimensions) would be about {size / 2**20:.0f} MiB, more than the {limit / 2**20:.0f} MiB "
                      "this gateway answers at once. Send fewer inputs per request, fewer `dimensions`, or "
                      "`encoding_format: base64` (the official SDKs' default).", "input", "answer_too_large")


def items(raw) -> list:
    """The inputs of a valid `input`: a string or a token array is one input, a list of them several."""
    if isinstance(raw, str) or (isinstance(raw, list) and raw and all(_is_int(t) for t in raw)):
        return [raw]
    return raw


def prompt_tokens(request: dict) -> int:
    """The input's tokens, estimated: a token array counts its tokens, a string its bytes / 4."""
    return sum(len(item) if isinstance(item, list) else text_tokens(item) for item in items(request["input"]))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _inputs(raw) -> None:
    if not isinstance(raw, (str, list)) or not raw:
        raise invalid(f"'$.input' is invalid. {REFERENCE}", "input")
    found = items(raw)
    if len(found) > MAX_INPUTS:
        raise invalid(f"Invalid 'input': array too long. Expected an array with maximum length {MAX_INPUTS}, "
                      f"but got an array with length {len(found)} instead.", "input", "array_above_max_length")
    for index, item in enumerate(found):
        valid = (isinstance(item, str) and item) or (
            isinstance(item, list) and item and all(_is_int(t) and t >= 0 for t in item))
        if not valid:
            raise invalid(f"'$.input[{index}]' is invalid. {REFERENCE}", "input")
