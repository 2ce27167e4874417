"""Image generation, in both shapes the gateway speaks:

- `POST /{provider}/v1/images/generations`: OpenAI's images API (`{"created", "data": [{"url" |
  "b64_json", "revised_prompt"}]}`), errors as OpenAI's;
- `POST /{provider}/v1/image_generation`: MiniMax's (`{"id", "data": {"image_urls" | "image_base64"},
  "metadata", "base_resp"}`), failures as HTTP 200 with a non-zero `base_resp.status_code`.

Images are not drawn: URLs point at sim.invalid (never fetched) and base64 images are one tiny PNG.
Each call is a ledger entry with `api` "images" or "image" and the number of images served.
"""
import asyncio
import time
import uuid

from aiohttp import web

from plugins.simulator.bodies import PROVIDER_LIMIT_HEADERS, dumps
from plugins.simulator.chat import _bearer_key, _fault, _read_json
from plugins.simulator.errors import ApiError, injected, invalid
from plugins.simulator.ledger import key_fingerprint
from plugins.simulator.minimax import MiniMaxError, check_key, forced_failure, invalid_params, ok
from plugins.simulator.options import SimOptions, parse_options
from plugins.simulator.state import STATE, SimState

PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
DALL_E_3_SIZES = ("1024x1024", "1792x1024", "1024x1792")
MINIMAX_RATIOS = ("1:1", "16:9", "4:3", "3:2", "2:3", "3:4", "9:16", "21:9")
MINIMAX_MAX_IMAGES, MINIMAX_MAX_PROMPT = 9, 1500


async def pause(options, fault) -> None:
    """The latency asked for by header and by fault rules, as for chat."""
    if options.latency_ms + fault.latency_ms:
        await asyncio.sleep((options.latency_ms + fault.latency_ms) / 1000)


async def read_minimax_call(request: web.Request) -> tuple[str, object, SimOptions]:
    """The key, JSON body and simulation options of a call in MiniMax's shape; MiniMaxError or ApiError if bad."""
    key = check_key(request.headers)
    body = await _read_json(request)
    return key, body, parse_options(request.headers, request.app[STATE].defaults)


async def injected_failure(state: SimState, options: SimOptions, entry: dict, model: str) -> web.Response | None:
    """The failure a header or fault rule injects into the call, recorded, after the latency asked for; or None."""
    fault = _fault(state, options, entry["provider"], model)
    await pause(options, fault)
    if fault.status is None:
        return None
    state.ledger.record(entry | {"status": fault.status})
    return injected(fault.status, fault.retry_after).response()


def image_urls(provider: str, image_id: str, count: int) -> list[str]:
    return [f"https://sim.invalid/{provider}/images/{image_id}/{index}.png" for index in range(count)]


def _entry(request: web.Request, api: str, key: str, body: dict, received_at: float) -> dict:
    prompt = body.get("prompt")
    return {"id": None, "api": api, "provider": request.match_info["provider"], "path": request.path,
            "model": body.get("model"), "status": 0, "images": 0, "response_format": body.get("response_format"),
            "prompt": prompt[:200] if isinstance(prompt, str) else None, "key_sha256": key_fingerprint(key),
            "received_at": received_at}


# --- OpenAI's images API ----------------------------------------------------------------------

async def handle_openai_images(request: web.Request) -> web.Response:
    state: SimState = request.app[STATE]
    received_at = time.time()
    try:
        key = _bearer_key(request.headers)
        body = _openai_request(await _read_json(request))
        options = parse_options(request.headers, state.defaults)
    except ApiError as error:
        return error.response()
    entry = _entry(request, "images", key, body, received_at)
    failure = await injected_failure(state, options, entry, body["model"])
    if failure is not None:
        return failure
    entry.update(id=f"img-sim-{uuid.uuid4().hex}", status=200, images=body["n"])
    state.ledger.record(entry)
    if body["response_format"] == "b64_json":
        data = [{"b64_json": PNG_1X1} for _ in range(body["n"])]
    else:
        data = [{"url": url} for url in image_urls(entry["provider"], entry["id"], body["n"])]
    if body["model"] == "dall-e-3":  # dall-e-3 rewrites every prompt and says how
        data = [image | {"revised_prompt": body["prompt"]} for image in data]
    return web.json_response({"created": int(received_at), "data": data}, dumps=dumps, headers=PROVIDER_LIMIT_HEADERS)


def _openai_request(body) -> dict:
    if not isinstance(body, dict):
        raise invalid(None, "The request body must be a JSON object.")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise invalid("prompt", "Missing required parameter: 'prompt'.", "missing_required_parameter")
    model = body.get("model") or "dall-e-2"
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
        raise invalid("n", f"Invalid 'n': expected an integer between 1 and 10, got {n!r}.", "invalid_value")
    if model == "dall-e-3" and n != 1:
        raise invalid("n", "You must provide n=1 for this model.", "invalid_value")
    size = body.get("size", "1024x1024")
    if model == "dall-e-3" and size not in DALL_E_3_SIZES:
        raise invalid("size", f"'{size}' is not one of {list(DALL_E_3_SIZES)} - 'size'", "invalid_value")
    response_format = body.get("response_format", "url")
    if response_format not in ("url", "b64_json"):
        raise invalid("response_format", f"'{response_format}' is not one of ['url', 'b64_json'] - "
                                         "'response_format'", "invalid_value")
    return body | {"model": model, "n": n, "size": size, "response_format": response_format}


# --- MiniMax's image API ----------------------------------------------------------------------

async def handle_minimax_image(request: web.Request) -> web.Response:
    state: SimState = request.app[STATE]
    received_at = time.time()
    try:
        key, body, options = await read_minimax_call(request)
    except (ApiError, MiniMaxError) as error:
        return error.response()
    entry = _entry(request, "image", key, body if isinstance(body, dict) else {}, received_at)
    failure = await injected_failure(state, options, entry, str(entry["model"]))
    if failure is not None:
        return failure
    try:
        n, response_format = _minimax_request(body, request.headers)
    except MiniMaxError as error:
        state.ledger.record(entry | {"status": 200, "base_status": error.code})
        return error.response()
    image_id = uuid.uuid4().hex
    state.ledger.record(entry | {"id": image_id, "status": 200, "base_status": 0, "images": n})
    data = ({"image_base64": [PNG_1X1] * n} if response_format == "base64"
            else {"image_urls": image_urls(entry["provider"], image_id, n)})
    return ok({"id": image_id, "data": data, "metadata": {"success_count": str(n), "failed_count": "0"}})


def _minimax_request(body, headers) -> tuple[int, str]:
    """(n, response_format) of a valid request; MiniMaxError (status 2013) otherwise."""
    forced = forced_failure(headers)
    if forced is not None:
        raise forced
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise invalid_params("model is required")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt or len(prompt) > MINIMAX_MAX_PROMPT:
        raise invalid_params(f"prompt must be 1 to {MINIMAX_MAX_PROMPT} characters")
    if body.get("aspect_ratio", "1:1") not in MINIMAX_RATIOS:
        raise invalid_params(f"aspect_ratio must be one of {', '.join(MINIMAX_RATIOS)}")
    for side in ("width", "height"):
        value = body.get(side)
        if value is not None and (not isinstance(value, int) or not 512 <= value <= 2048 or value % 8):
            raise invalid_params(f"{side} must be a multiple of 8 between 512 and 2048")
    n = body.get("n", 1)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MINIMAX_MAX_IMAGES:
        raise invalid_params(f"n must be between 1 and {MINIMAX_MAX_IMAGES}")
    response_format = body.get("response_format", "url")
    if response_format not in ("url", "base64"):
        raise invalid_params("response_format must be url or base64")
    return n, response_format
