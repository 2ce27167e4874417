"""`POST /{provider}/{tail}`: the chat-completions endpoint of every simulated provider."""
import asyncio
import json
import time
import uuid

from aiohttp import web

from plugins.simulator.bodies import PROVIDER_LIMIT_HEADERS, completion_body, dumps
from plugins.simulator.completions import plan
from plugins.simulator.errors import ApiError, injected, invalid, not_found
from plugins.simulator.faults import Fault
from plugins.simulator.ledger import key_fingerprint
from plugins.simulator.options import SimOptions, parse_options
from plugins.simulator.state import STATE, SimState
from plugins.simulator.streaming import stream_completion
from plugins.simulator.validation import ChatRequest, parse_chat

# OpenAI-style paths end in chat/completions; MiniMax's in chatcompletion_v2.
CHAT_TAILS = ("chat/completions", "chatcompletion_v2")


async def handle_chat(request: web.Request) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    received_at = time.time()
    try:
        provider = _provider(request)
        key = _bearer_key(request.headers)
        _refuse_rejected_key(state, provider, request.path, key, received_at)
        chat = parse_chat(await _read_json(request))
        options = parse_options(request.headers, state.defaults)
    except ApiError as error:
        return error.response()
    entry = {"id": None, "provider": provider, "path": request.path, "model": chat.model, "stream": chat.stream,
             "status": 0, "prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0, "tool_call": None,
             "key_sha256": key_fingerprint(key), "received_at": received_at, "disconnected": False,
             # Envoy passes its request id upstream: tests find the call of a translated answer by it.
             "request_id": request.headers.get("x-request-id")}
    fault = _fault(state, options, provider, chat.model)
    delay_ms = options.latency_ms + fault.latency_ms
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    if fault.status is not None:
        state.ledger.record(entry | {"status": fault.status})
        return injected(fault.status, fault.retry_after).response()
    return await _complete(request, state, chat, options, entry)


async def _complete(request: web.Request, state: SimState, chat: ChatRequest, options: SimOptions,
                    entry: dict) -> web.StreamResponse:
    tools = chat.tools.functions if chat.tools else None
    call = chat.tools.to_call(options.tool_call) if chat.tools else None
    completion = plan(chat.messages, chat.max_tokens, options.prompt_tokens, options.completion_tokens, tools,
                      call).with_cache(options.cached_tokens, entry["provider"])
    entry.update(id=f"chatcmpl-sim-{uuid.uuid4().hex}", status=200, prompt_tokens=completion.prompt_tokens,
                 completion_tokens=completion.completion_tokens, cached_tokens=completion.cached_tokens or 0,
                 tool_call=call["name"] if call else None)
    state.ledger.record(entry)  # before the first byte, so a client that has its answer finds the entry
    if chat.stream:
        return await stream_completion(request, chat, options, completion, entry)
    body = completion_body(entry["id"], int(entry["received_at"]), chat.model, entry["provider"], completion)
    response = web.json_response(body, dumps=dumps, headers=PROVIDER_LIMIT_HEADERS)
    response.enable_compression()  # as the real APIs do, when the request's Accept-Encoding allows it
    return response


def _provider(request: web.Request) -> str:
    provider = request.match_info["provider"]
    if provider == "_sim" or not request.match_info["tail"].endswith(CHAT_TAILS):
        raise not_found(request.method, request.path)
    return provider


def _bearer_key(headers) -> str:
    scheme, _, key = headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization "
                            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", code="invalid_api_key")
    return key


def _refuse_rejected_key(state: SimState, provider: str, path: str, key: str, received_at: float) -> None:
    """A key starting with `invalid` plays a provider rejecting a bring-your-own key. The attempt goes
    in the ledger (status 401, no tokens), so tests can count what reached the provider with that key."""
    if not key.startswith("invalid"):
        return
    state.ledger.record({"id": None, "provider": provider, "path": path, "model": None, "stream": None,
                         "status": 401, "prompt_tokens": 0, "completion_tokens": 0, "key_sha256": key_fingerprint(key),
                         "received_at": received_at, "disconnected": False})
    raise ApiError(401, f"Incorrect API key provided: {key[:3]}***{key[-4:]}.", code="invalid_api_key")


async def _read_json(request: web.Request):
    try:
        raw = await request.read()
    except web.HTTPException as error:  # e.g. 413 over client_max_size
        raise ApiError(error.status, error.reason or "Could not read the request body.") from None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise invalid(None, "We could not parse the JSON body of your request. (HINT: This likely means you "
                            "aren't using your HTTP library correctly.)") from None


def _fault(state: SimState, options: SimOptions, provider: str, model: str) -> Fault:
    # A status asked for in the request's own header wins and leaves the rules untouched.
    if options.status is not None:
        return Fault(options.status, options.retry_after)
    return state.faults.take(provider, model)
