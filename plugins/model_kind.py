"""Which endpoint serves each kind of model, and the answer to a model named at the wrong one.

gateway.yaml gives every model a `kind` (chat, embedding, image or video); each AI endpoint takes one kind and
points a client that named another at the endpoint that takes it.
"""
from plugins.context import Reject
from plugins.key_limits import check_model

ENDPOINTS = {"chat": "/v1/chat/completions", "embedding": "/v1/embeddings", "image": "/v1/images/generations",
             "video": "/v1/video/generations"}


def model_not_found(name: str) -> Reject:
    return Reject(404, f"The model `{name}` does not exist or you do not have access to it. "
                       "GET /v1/models lists the models you can use.", "model_not_found",
                  param="model", reason="model_not_found")


def wrong_kind(model) -> Reject:
    article = "an" if model.kind[0] in "aeiou" else "a"
    return Reject(400, f"The model `{model.name}` is {article} {model.kind} model; use {ENDPOINTS[model.kind]}",
                  "model_not_supported", param="model", reason="invalid_request")


def resolve(ctx, name: str, kind: str):
    """The configured model `name`, which must be of `kind` and one the caller's key may use: 404 when
    there is no such model, then 403 when the key may not use it, then 400 when it is of another kind."""
    model = ctx.runtime.models.get(name)
    if model is None:
        raise model_not_found(name)
    check_model(ctx, name)
    if model.kind != kind:
        raise wrong_kind(model)
    return model
