"""The models an API key may use (its `allowed_models`: ids and `*` patterns, schemas.model_patterns).

Checked where each endpoint resolves the client's model (plugins.model_kind.resolve; routers in
plugins.fallback and plugins.count_tokens), so no endpoint can forget it. A router is allowed by its own
name: a key allowed `clew/free` may be served by any of its candidates, which the operator chose and the
client cannot pick; a key allowed only the candidates may not call the router. Fallback never leaves the
router's candidates, so it cannot reach a model the key was not given. Sessions and keys without a list
may use every model.
"""
from plugins.context import Reject, RequestContext
from schemas import model_patterns


def check_model(ctx: RequestContext, name: str) -> None:
    """403 model_not_allowed when the caller's key may not use the model (or router) `name`."""
    key = ctx.key
    if key is None or model_patterns.allows(key.allowed_models, name):
        return
    raise Reject(403, f"This API key may not use the model `{name}`; it may use: "
                      f"{', '.join(key.allowed_models)[:500]}. GET /v1/models with this key lists them.",
                 "model_not_allowed", param="model", reason="model_not_allowed")
