"""The images plugin: POST /v1/images/generations, answered in OpenAI's images shape.

The request is checked against the model (gateway.yaml `sizes`, `max_images`) and sent to the
provider's image API: OpenAI's images API as it is (`images_path`), or MiniMax's image API
(`image_path`) rewritten for it. The answer comes back buffered (metering asks for that), MiniMax's
converted to OpenAI's shape, and priced per image returned; metering then writes X-Cost-USD and the
ledger event as for chat. The images asked for (`units`) are reserved against the quota before the
call and the images returned (`units_served`) counted, at the model's quota_tokens_per_image.
"""
import json
import time

from plugins import media_request, minimax_media
from plugins.chain import Plugin
from plugins.context import Reject, RequestContext
from plugins.model_kind import resolve
from plugins.provider_call import reply, send

OPENAI_API, MINIMAX_API = "images", "image"  # the `<api>_path` keys of gateway.yaml's providers


def _openai_images(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise Reject(502, "The provider's answer could not be read: no data.", "upstream_error",
                     reason="upstream_invalid")
    return body


class ImagesPlugin(Plugin):
    name = "images"
    priority = 790  # beside the router: after auth and rate limits

    async def on_request_body(self, ctx: RequestContext, body: bytes) -> None:
        runtime = ctx.runtime
        request = media_request.parse(body)
        model = resolve(ctx, request["model"], "image")
        request = media_request.check_image(request, model.name, runtime.config.models[model.name])
        upstream = runtime.upstreams[model.provider]
        api = OPENAI_API if OPENAI_API in upstream.paths else MINIMAX_API
        payload = ({**request, "model": model.upstream_model} if api == OPENAI_API
                   else minimax_media.image_request(request, model.upstream_model))
        ctx.state.update(model=model, image_api=api, key_source="pool", units=request["n"])
        send(ctx, upstream, upstream.path(api), payload)

    async def on_response_body(self, ctx: RequestContext, chunk: bytes, end: bool) -> None:
        state = ctx.state
        # Errors (status >= 400, recorded by metering) are metering's to answer.
        if state.image_api is None or (state.status or 0) >= 400:
            return
        if state.image_api == OPENAI_API:
            answer = _openai_images(chunk)
        else:
            answer = minimax_media.image_response(minimax_media.read(chunk), int(time.time()))
            reply(ctx, answer)
        state.update(cost_nanos=len(answer["data"]) * state.model.unit_nanos, usage={},
                     units_served=len(answer["data"]))
