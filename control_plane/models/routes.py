"""GET /v1/models and GET /v1/models/{id}: OpenAI's list shape, with each model's kind (chat, embedding,
image, video), our context windows and prices (per 1M tokens, with the cached-input price where a chat
model has one; per image or per video), embedding models' dimensions, and for images and videos the
tokens of the monthly quota one counts as. Called with an API key that has `allowed_models`, both show only
the models that key may use."""
import sqlalchemy as sa
from aiohttp import web

from control_plane.errors import ApiError
from control_plane.services import services
from schemas import model_patterns
from schemas.gateway import embedding_dimensions, quota_tokens_per_unit
from schemas.tables import api_keys

routes = web.RouteTableDef()
CREATED = 1767225600  # 2026-01-01: OpenAI's shape wants a creation time; the catalog has none
PRICE_SIDES = ("input", "cached_input", "output")


def model_view(name: str, model: dict) -> dict:
    kind = model.get("kind", "chat")
    view = {"id": name, "object": "model", "created": CREATED, "owned_by": model["provider"], "kind": kind}
    if kind in ("chat", "embedding"):
        return {**view, **_token_priced(model)}
    view["pricing"] = {"currency": "USD", "unit": kind, "price": model[f"price_per_{kind}"]}
    view[f"quota_tokens_per_{kind}"] = quota_tokens_per_unit(model)
    if kind == "image":
        view.update(sizes=model["sizes"], max_images=model.get("max_images", 10))
    return view


def _token_priced(model: dict) -> dict:
    """Prices per 1M tokens: input, cached_input when set, output (embedding models have none)."""
    pricing = {"currency": "USD", "unit": "1M tokens",
               **{side: model["price_per_1m"][side] for side in PRICE_SIDES if side in model["price_per_1m"]}}
    view = {"context_window": model["context_window"]} if "context_window" in model else {}
    default, most = embedding_dimensions(model)
    if default is not None:
        view["dimensions"] = {"default": default, "max": most}
    return {**view, "pricing": pricing}


async def _allowed(request: web.Request) -> tuple[str, ...] | None:
    """The patterns of the caller's API key, when it sent one that has them (Envoy authenticates a
    request to the model list that carries credentials); None: every model."""
    identity = request.get("identity")
    if identity is None or identity.method != "api_key":
        return None
    async with services(request).engine.connect() as conn:
        stored = (await conn.execute(sa.select(api_keys.c.allowed_models).where(
            api_keys.c.id == identity.key_id, api_keys.c.account_id == identity.account_id))).scalar()
    return model_patterns.load(stored)


@routes.get("/v1/models")
async def list_models(request: web.Request) -> web.Response:
    models, allowed = services(request).config.models, await _allowed(request)
    return web.json_response({"object": "list", "data": [model_view(n, m) for n, m in models.items()
                                                         if model_patterns.allows(allowed, n)]})


@routes.get("/v1/models/{model_id:.+}")
async def get_model(request: web.Request) -> web.Response:
    name = request.match_info["model_id"]
    model = services(request).config.models.get(name)
    if model is None:
        raise ApiError(404, f"The model `{name}` does not exist", "model_not_found", "model")
    # A model the key may not use is not in its list either: answered like one that does not exist.
    if not model_patterns.allows(await _allowed(request), name):
        raise ApiError(404, f"The model `{name}` does not exist or this API key may not use it", "model_not_found",
                       "model")
    return web.json_response(model_view(name, model))
