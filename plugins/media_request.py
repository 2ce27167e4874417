"""Validating image and video generation requests the way OpenAI does, with the same errors.

`parse` reads the body and its `model`; once the model is known, `check_image` / `check_video`
judge the rest against what gateway.yaml says the model can do, and fill in OpenAI's defaults.
"""
from plugins import json_body
from plugins.json_body import invalid

MAX_IMAGE_PROMPT = 4000  # OpenAI's limit for dall-e-3
MAX_VIDEO_PROMPT = 2000  # MiniMax's limit for its video models
DEFAULT_MAX_IMAGES = 10
RESPONSE_FORMATS = ("url", "b64_json")
VIDEO_PARAMS = {"model", "prompt"}

parse = json_body.parse  # a media request's body and model are read as any other request's


def _check_prompt(request: dict, limit: int) -> None:
    prompt = request.get("prompt")
    if prompt is None:
        raise invalid("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("Invalid 'prompt': expected a non-empty string.", "prompt", "invalid_type")
    if len(prompt) > limit:
        raise invalid(f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, "
                      f"but got a string with length {len(prompt)} instead.", "prompt", "string_above_max_length")


def _check_n(request: dict, name: str, most: int) -> int:
    n = request.get("n", 1)
    if n is None:
        return 1
    if not isinstance(n, int) or isinstance(n, bool):
        raise invalid("Invalid type for 'n': expected an integer.", "n", "invalid_type")
    if n < 1:
        raise invalid(f"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {n} instead.",
                      "n", "integer_below_min_value")
    if n > most:
        raise invalid(f"Invalid 'n': `{name}` makes at most {most} image{'s' if most > 1 else ''} per request, "
                      f"but got {n}.", "n", "integer_above_max_value")
    return n


def _choice(request: dict, param: str, allowed: list, default: str) -> str:
    value = request.get(param)
    if value is None:
        return default
    if value not in allowed:
        raise invalid(f"Invalid '{param}': {value!r} is not one of {list(allowed)}.", param)
    return value


def check_image(request: dict, name: str, model: dict) -> dict:
    """The request with `n`, `size` and `response_format` judged against the model and filled in."""
    _check_prompt(request, MAX_IMAGE_PROMPT)
    if request.get("stream") is not None and request["stream"] is not False:  # 0 == False, but is no boolean
        raise invalid(f"Streaming is not supported for `{name}`.", "stream", "unsupported_value")
    sizes = model["sizes"]
    return {**request, "n": _check_n(request, name, model.get("max_images", DEFAULT_MAX_IMAGES)),
            "size": _choice(request, "size", sizes, sizes[0]),
            "response_format": _choice(request, "response_format", RESPONSE_FORMATS, "url")}


def check_video(request: dict) -> dict:
    unknown = sorted(set(request) - VIDEO_PARAMS)
    if unknown:
        raise invalid(f"Unrecognized request argument supplied: {unknown[0]}", unknown[0], "unknown_parameter")
    _check_prompt(request, MAX_VIDEO_PROMPT)
    return request
